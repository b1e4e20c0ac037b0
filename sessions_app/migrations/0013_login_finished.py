from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0012_instance_list")]

    operations = [
        migrations.AddField(
            model_name="connectorinstance",
            name="login_finished_id",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="connectorinstance",
            name="login_finished_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
