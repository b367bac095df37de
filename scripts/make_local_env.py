"""Print the settings `make run` needs that must never be committed: fresh random secrets."""

import base64
import secrets

print("DEBUG=1")
print(f"SECRET_KEY={secrets.token_urlsafe(50)}")
print(f"FIELD_ENCRYPTION_KEYS={base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}")
