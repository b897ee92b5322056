import io

from django.core.mail import EmailMessage

from reemploi.mail import ConsoleEmailBackend


def test_console_backend_prints_the_message_and_names_attachments_without_their_content():
    stream = io.StringIO()
    message = EmailMessage(
        "Votre document REC-2026-000001 est disponible",
        "Suivez votre don : https://reemploi.example.org/dons/suivi/abc/",
        "ne-pas-repondre@reemploi.example.org",
        ["dsi@example.org"],
    )
    pdf = b"%PDF-1.7 " + b"x" * 5000
    message.attach("REC-2026-000001.pdf", pdf, "application/pdf")

    assert ConsoleEmailBackend(stream=stream).send_messages([message]) == 1

    printed = stream.getvalue()
    assert "Subject: Votre document REC-2026-000001 est disponible" in printed
    assert "https://reemploi.example.org/dons/suivi/abc/" in printed
    assert "[pièce jointe non affichée : REC-2026-000001.pdf (application/pdf, 5009 octets)]" in printed
    assert "JVBERi" not in printed  # the PDF's base64
    assert message.attachments, "the message itself keeps its attachment"


def test_console_backend_prints_a_message_without_attachment_as_django_does():
    stream = io.StringIO()
    message = EmailMessage("Bonjour", "Corps du message", "a@example.org", ["b@example.org"])
    ConsoleEmailBackend(stream=stream).send_messages([message])
    assert "Corps du message" in stream.getvalue()
    assert "pièce jointe" not in stream.getvalue()
