"""The bulk-import upload: one file, read into rows here so its size and row limits are form errors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.views.decorators.debug import sensitive_variables

from sessions_app.services.fleet_files import FileRefused, ImportRow, fleet_file_rows


class BulkImportForm(forms.Form):
    file = forms.FileField(
        label="CSV or zip file",
        help_text=(
            "A CSV with the header session,name,session_string (optionally ,password), or a zip of "
            "SESSION.session files and SESSION.txt session strings, with an optional instances.csv "
            "(session,name,password)."
        ),
        error_messages={"required": "Choose a CSV or zip file to import.", "empty": "The file is empty."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = ""
        self.rows: list[ImportRow] = []

    @sensitive_variables("data")
    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        limit = settings.BULK_IMPORT_MAX_BYTES
        if upload.size is not None and upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; bulk import takes at most "
                f"{limit / 1024 / 1024:.0f} MB. Nothing was imported. Split it into smaller files."
            )
        data = upload.read(limit + 1)
        try:
            self.kind, self.rows = fleet_file_rows(filename=upload.name or "", data=data)
        except FileRefused as refused:
            raise forms.ValidationError(refused.message) from None
        if not self.rows:
            raise forms.ValidationError("The file holds no rows to import. Nothing was imported.")
        return upload
