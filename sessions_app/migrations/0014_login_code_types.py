from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0013_login_finished")]

    operations = [
        migrations.AddField(
            model_name="pendinglogin",
            name="code_length",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="pendinglogin",
            name="code_hint",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name="pendinglogin",
            name="step",
            field=models.CharField(
                choices=[("code", "code"), ("email", "login email"), ("qr", "QR code"), ("password", "password")],
                default="code",
                max_length=10,
            ),
        ),
    ]
