from django.db import models
from django.utils.translation import gettext_lazy as _


class CriterionKind(models.TextChoices):
    """What makes a person eligible. No decree defines « précarité »: each network sets its own list
    per département, with thresholds that change (so they are data with dates of effect)."""

    RSA = "rsa", _("Revenu de solidarité active (RSA)")
    ASS = "ass", _("Allocation de solidarité spécifique (ASS)")
    AAH = "aah", _("Allocation aux adultes handicapés (AAH)")
    ASPA = "aspa", _("Allocation de solidarité aux personnes âgées (ASPA)")
    CSS = "css", _("Complémentaire santé solidaire")
    GRANT = "grant", _("Bourse scolaire ou universitaire")
    ADA = "ada", _("Allocation pour demandeur d'asile (ADA)")
    FAMILY_QUOTIENT = "family_quotient", _("Quotient familial sous un plafond")
    PRESCRIBER = "prescriber", _("Orientation par une structure prescriptrice")
    ASSOCIATION = "association", _("Association au service de personnes en précarité")
    OTHER = "other", _("Autre critère")


# Criteria that are met only under an amount: the criterion row carries the threshold.
THRESHOLD_KINDS = {CriterionKind.FAMILY_QUOTIENT}


class DocumentType(models.TextChoices):
    """The kind of document the relais LOOKED AT. The document itself is never stored."""

    CAF = "caf", _("Attestation de paiement CAF ou MSA")
    FRANCE_TRAVAIL = "france_travail", _("Attestation France Travail")
    DISABILITY = "disability", _("Notification d'AAH (CAF / MDPH)")
    PENSION = "pension", _("Notification de pension ou d'ASPA")
    CSS = "css", _("Attestation de Complémentaire santé solidaire")
    GRANT = "grant", _("Notification de bourse")
    OFII = "ofii", _("Attestation OFII (ADA)")
    FAMILY_QUOTIENT = "family_quotient", _("Attestation de quotient familial")
    PRESCRIPTION = "prescription", _("Fiche de prescription d'un travailleur social")
    STATUTES = "statutes", _("Statuts et objet de l'association")
    OTHER = "other", _("Autre justificatif")


class BeneficiaryKind(models.TextChoices):
    PERSON = "person", _("Personne")
    ASSOCIATION = "association", _("Association au service de personnes en précarité")
