"""Third-party apps under headings a provider reads in the admin's index.

Listed in INSTALLED_APPS instead of the apps' own configs: their labels (otp_totp,
otp_static, axes), models and migrations stay theirs; only the heading changes.
A module of its own, because a second AppConfig in apps/core/apps.py would stop
Django from picking CoreConfig by itself.
"""

from axes.apps import AppConfig as AxesDefaultConfig
from django_otp.plugins.otp_static.apps import DefaultConfig as StaticDefaultConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as TOTPDefaultConfig


class TwoFactorAuthenticatorAppsConfig(TOTPDefaultConfig):
    verbose_name = "Two-factor: authenticator apps"


class TwoFactorRecoveryCodesConfig(StaticDefaultConfig):
    verbose_name = "Two-factor: recovery codes"


class SignInLockoutsConfig(AxesDefaultConfig):
    verbose_name = "Sign-in lockouts (django-axes)"
