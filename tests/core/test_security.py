from __future__ import annotations

import pytest
from pydantic import SecretStr

from app.core.security import webhook_signature, webhook_signing_key


class TestWebhookSignature:
    def test_the_standard_webhooks_example(self) -> None:
        # The example of the Standard Webhooks specification.
        key = webhook_signing_key(SecretStr("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        signature = webhook_signature(
            key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
        )
        assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    def test_a_secret_without_the_prefix_is_its_own_bytes(self) -> None:
        assert webhook_signing_key(SecretStr("shared secret")) == b"shared secret"

    @pytest.mark.parametrize("secret", ["", "whsec_", "whsec_%%%"])
    def test_unusable_secrets_are_refused(self, secret: str) -> None:
        with pytest.raises(ValueError, match="secret"):
            webhook_signing_key(SecretStr(secret))
