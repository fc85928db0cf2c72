"""What a signer's browser does with WebCrypto, in Python: a P-256 key that never leaves
this object, a certificate request signed by it, and ECDSA signatures as WebCrypto returns
them (64 bytes r||s). Shared by the tests and bench/."""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID


class Browser:
    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())

    def csr_der(self, name: str = "browser") -> bytes:
        request = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .sign(self.key, hashes.SHA256())
        )
        return request.public_bytes(Encoding.DER)

    def csr_b64(self, name: str = "browser") -> str:
        return base64.b64encode(self.csr_der(name)).decode()

    def sign(self, data: bytes) -> bytes:
        """crypto.subtle.sign({name: "ECDSA", hash: "SHA-256"}, key, data): r||s."""
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def sign_b64(self, data: bytes) -> str:
        return base64.b64encode(self.sign(data)).decode()
