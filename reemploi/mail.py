"""The development email backend: the console, without the attachments' base64.

A document email carries its PDF; printed whole, one message fills screens with base64 and hides
the tracking link a developer is looking for. Each attachment is shown as one line instead.
"""

import copy

from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend


class ConsoleEmailBackend(DjangoConsoleBackend):
    def write_message(self, message):
        attachments = getattr(message, "attachments", None) or []
        if not attachments:
            return super().write_message(message)
        shown = copy.copy(message)
        shown.attachments = []
        super().write_message(shown)
        for attachment in attachments:
            name, content, mimetype = _describe(attachment)
            self.stream.write(f"[pièce jointe non affichée : {name} ({mimetype}, {len(content)} octets)]\n")
        self.stream.write("-" * 79 + "\n")


def _describe(attachment):
    if isinstance(attachment, tuple):  # (filename, content, mimetype), also the named tuple of Django 5.2
        name, content, mimetype = attachment
        return name or "sans nom", content or b"", mimetype or "application/octet-stream"
    # A MIMEBase object attached as is.
    payload = attachment.get_payload(decode=True) or b""
    return attachment.get_filename() or "sans nom", payload, attachment.get_content_type()
