"""SM2 over the system's OpenSSL 3 libcrypto, called through `ctypes` (no extra package).

CPython links `_ssl`/`_hashlib` against libcrypto, so where Python runs with OpenSSL 3 the library is
already mapped into the process; this module loads that same file (found through `/proc/self/maps`
after `import _hashlib`, then `ctypes.util.find_library`) and insists on major version 3.

Keys become EVP_PKEYs through `EVP_PKEY_fromdata` (group "SM2", `priv`, `pub`); signing and
verification go through `EVP_DigestSign*`/`EVP_DigestVerify*` with SM3 and the distinguishing ID
1234567812345678 (`EVP_PKEY_CTX_set1_id`), DER in and out. EVP_PKEYs are cached in bounded LRUs and
freed when evicted (and no call is still using them). Every libcrypto call is checked; after a failure
the thread's OpenSSL error queue is cleared, so nothing is left for `ssl`/`hashlib` to trip over.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import importlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Final

from signing.errors import SigningError

Point = tuple[int, int]

_SIGNER_ID: Final = b"1234567812345678"
_SM2_N: Final = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_7203DF6B_21C6052B_53BBF409_39D54123
_NID_SM2: Final = 1172
_EVP_PKEY_KEYPAIR: Final = 0x87  # OSSL_KEYMGMT_SELECT_ALL_PARAMETERS | PUBLIC_KEY | PRIVATE_KEY
_EVP_PKEY_PUBLIC_KEY: Final = 0x86  # OSSL_KEYMGMT_SELECT_ALL_PARAMETERS | PUBLIC_KEY
_POINT_CONVERSION_UNCOMPRESSED: Final = 4
_MAX_SIGNATURE: Final = 80  # an SM2 DER signature is at most 72 bytes


class OpenSsl3UnavailableError(SigningError):
    """No usable OpenSSL 3 libcrypto (missing, another major version, or lacking SM2)."""

    code: ClassVar[str] = "openssl3_unavailable"


class _OpenSslCallFailed(Exception):
    """A libcrypto call reported failure (its error queue already cleared); never leaves here."""


_P = ctypes.c_void_p
_S = ctypes.c_char_p
_I = ctypes.c_int
_Z = ctypes.c_size_t
_PP = ctypes.POINTER(ctypes.c_void_p)
_PZ = ctypes.POINTER(ctypes.c_size_t)

# name: (restype, argtypes)
_SIGNATURES: Final[dict[str, tuple[Any, list[Any]]]] = {
    "OpenSSL_version_num": (ctypes.c_ulong, []),
    "ERR_clear_error": (None, []),
    "ERR_peek_error": (ctypes.c_ulong, []),
    "BN_bin2bn": (_P, [_S, _I, _P]),
    "BN_bn2binpad": (_I, [_P, _P, _I]),
    "BN_num_bits": (_I, [_P]),
    "BN_clear_free": (None, [_P]),
    "BN_CTX_new": (_P, []),
    "BN_CTX_free": (None, [_P]),
    "EC_GROUP_new_by_curve_name": (_P, [_I]),
    "EC_GROUP_free": (None, [_P]),
    "EC_POINT_new": (_P, [_P]),
    "EC_POINT_free": (None, [_P]),
    "EC_POINT_mul": (_I, [_P, _P, _P, _P, _P, _P]),
    "EC_POINT_point2oct": (_Z, [_P, _P, _I, _P, _Z, _P]),
    "OSSL_PARAM_BLD_new": (_P, []),
    "OSSL_PARAM_BLD_free": (None, [_P]),
    "OSSL_PARAM_BLD_push_utf8_string": (_I, [_P, _S, _S, _Z]),
    "OSSL_PARAM_BLD_push_BN": (_I, [_P, _S, _P]),
    "OSSL_PARAM_BLD_push_octet_string": (_I, [_P, _S, _S, _Z]),
    "OSSL_PARAM_BLD_to_param": (_P, [_P]),
    "OSSL_PARAM_free": (None, [_P]),
    "EVP_PKEY_CTX_new_from_name": (_P, [_P, _S, _P]),
    "EVP_PKEY_CTX_free": (None, [_P]),
    "EVP_PKEY_CTX_set1_id": (_I, [_P, _S, _I]),
    "EVP_PKEY_fromdata_init": (_I, [_P]),
    "EVP_PKEY_fromdata": (_I, [_P, _PP, _I, _P]),
    "EVP_PKEY_keygen_init": (_I, [_P]),
    "EVP_PKEY_generate": (_I, [_P, _PP]),
    "EVP_PKEY_get_bn_param": (_I, [_P, _S, _PP]),
    "EVP_PKEY_free": (None, [_P]),
    "EVP_MD_fetch": (_P, [_P, _S, _P]),
    "EVP_MD_CTX_new": (_P, []),
    "EVP_MD_CTX_free": (None, [_P]),
    "EVP_DigestSignInit": (_I, [_P, _PP, _P, _P, _P]),
    "EVP_DigestSign": (_I, [_P, _P, _PZ, _S, _Z]),
    "EVP_DigestVerifyInit": (_I, [_P, _PP, _P, _P, _P]),
    "EVP_DigestVerify": (_I, [_P, _S, _Z, _S, _Z]),
}


def _candidate_paths() -> Iterator[str]:
    """The libcrypto CPython's own `_hashlib` is linked to first, then the linker's choice."""
    with contextlib.suppress(ImportError):
        importlib.import_module("_hashlib")  # maps CPython's own libcrypto into the process
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.rstrip("\n").split(maxsplit=5)[-1]
                if os.path.basename(path).startswith("libcrypto.so"):
                    yield path
    except OSError:
        pass
    found = ctypes.util.find_library("crypto")
    if found:
        yield found
    yield "libcrypto.so.3"


def _load() -> ctypes.CDLL:
    reasons: list[str] = []
    for path in dict.fromkeys(_candidate_paths()):
        try:
            library = ctypes.CDLL(path)
            for name, (restype, argtypes) in _SIGNATURES.items():
                function = getattr(library, name)
                function.restype = restype
                function.argtypes = argtypes
        except (OSError, AttributeError) as exc:
            reasons.append(f"{path}: {exc}")
            continue
        version = int(library.OpenSSL_version_num())
        if version >> 28 != 3:
            reasons.append(f"{path}: OpenSSL version 0x{version:08x}, not 3.x")
            continue
        return library
    raise OpenSsl3UnavailableError("no OpenSSL 3 libcrypto found (" + "; ".join(reasons or ["none"]) + ")")


class _Library:
    """libcrypto with its prototypes set, plus the few objects fetched once (never freed)."""

    def __init__(self) -> None:
        self.lib = _load()
        self.sm3 = self.lib.EVP_MD_fetch(None, b"SM3", None)
        self.group = self.lib.EC_GROUP_new_by_curve_name(_NID_SM2)
        if not self.sm3 or not self.group:
            self.lib.ERR_clear_error()
            raise OpenSsl3UnavailableError("this libcrypto has no SM3 or no SM2 curve")

    def check(self, ok: bool) -> None:
        if not ok:
            self.lib.ERR_clear_error()
            raise _OpenSslCallFailed


_library_lock = threading.Lock()
_library: _Library | None = None


def _get_library() -> _Library:
    global _library  # noqa: PLW0603 - one process-wide handle, built on first use
    if _library is None:
        with _library_lock:
            if _library is None:
                _library = _Library()
    return _library


class _Pkey:
    """Owns one EVP_PKEY; freed when the last reference (cache entry or in-flight call) goes."""

    __slots__ = ("_free", "pointer")

    def __init__(self, pointer: int, free: Callable[[int], None]) -> None:
        self.pointer = pointer
        self._free = free

    def __del__(self) -> None:
        self._free(self.pointer)


def _new_pkey(ossl: _Library, selection: int, private_value: int | None, point: bytes) -> _Pkey:
    lib = ossl.lib
    bld = lib.OSSL_PARAM_BLD_new()
    bn: int | None = None
    params: int | None = None
    ctx: int | None = None
    try:
        ossl.check(bool(bld))
        ossl.check(lib.OSSL_PARAM_BLD_push_utf8_string(bld, b"group", b"SM2", 0) == 1)
        if private_value is not None:
            bn = lib.BN_bin2bn(private_value.to_bytes(32, "big"), 32, None)
            ossl.check(bool(bn))
            ossl.check(lib.OSSL_PARAM_BLD_push_BN(bld, b"priv", bn) == 1)
        ossl.check(lib.OSSL_PARAM_BLD_push_octet_string(bld, b"pub", point, len(point)) == 1)
        params = lib.OSSL_PARAM_BLD_to_param(bld)
        ossl.check(bool(params))
        ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
        ossl.check(bool(ctx))
        ossl.check(lib.EVP_PKEY_fromdata_init(ctx) == 1)
        pkey = ctypes.c_void_p()
        # Refuses a point that is not on the curve (EC_POINT_oct2point checks it).
        ossl.check(lib.EVP_PKEY_fromdata(ctx, ctypes.byref(pkey), selection, params) == 1)
        ossl.check(bool(pkey.value))
        assert pkey.value is not None
        return _Pkey(pkey.value, lib.EVP_PKEY_free)
    finally:
        if ctx:
            lib.EVP_PKEY_CTX_free(ctx)
        if params:
            lib.OSSL_PARAM_free(params)
        if bn:
            lib.BN_clear_free(bn)
        if bld:
            lib.OSSL_PARAM_BLD_free(bld)


def _point_bytes(point: Point) -> bytes:
    return b"\x04" + point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")


def _public_point_of(ossl: _Library, private_value: int) -> Point:
    lib = ossl.lib
    bn = lib.BN_bin2bn(private_value.to_bytes(32, "big"), 32, None)
    ec_point = lib.EC_POINT_new(ossl.group)
    bn_ctx = lib.BN_CTX_new()
    try:
        ossl.check(bool(bn) and bool(ec_point) and bool(bn_ctx))
        ossl.check(lib.EC_POINT_mul(ossl.group, ec_point, bn, None, None, bn_ctx) == 1)
        out = ctypes.create_string_buffer(65)
        written = lib.EC_POINT_point2oct(
            ossl.group, ec_point, _POINT_CONVERSION_UNCOMPRESSED, out, 65, bn_ctx
        )
        ossl.check(written == 65)
        raw = out.raw
        return int.from_bytes(raw[1:33], "big"), int.from_bytes(raw[33:65], "big")
    finally:
        if bn_ctx:
            lib.BN_CTX_free(bn_ctx)
        if ec_point:
            lib.EC_POINT_free(ec_point)
        if bn:
            lib.BN_clear_free(bn)


@functools.lru_cache(maxsize=256)
def _private_entry(private_value: int) -> tuple[_Pkey, Point]:
    ossl = _get_library()
    point = _public_point_of(ossl, private_value)
    return _new_pkey(ossl, _EVP_PKEY_KEYPAIR, private_value, _point_bytes(point)), point


@functools.lru_cache(maxsize=1024)
def _public_pkey(point: Point) -> _Pkey:
    return _new_pkey(_get_library(), _EVP_PKEY_PUBLIC_KEY, None, _point_bytes(point))


class OpenSsl3Backend:
    """The system's OpenSSL 3 libcrypto through ctypes (EVP API, SM3, signer ID 1234567812345678).

    Constructing it loads libcrypto and raises `OpenSsl3UnavailableError` when there is no usable
    OpenSSL 3. EVP_PKEYs are cached (bounded LRU) as in `TongsuoBackend`.
    """

    name = "openssl3"

    def __init__(self) -> None:
        self._ossl = _get_library()

    def generate(self) -> int:
        ossl = self._ossl
        lib = ossl.lib
        while True:
            ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
            pkey = ctypes.c_void_p()
            bn = ctypes.c_void_p()
            try:
                ossl.check(bool(ctx))
                ossl.check(lib.EVP_PKEY_keygen_init(ctx) == 1)
                ossl.check(lib.EVP_PKEY_generate(ctx, ctypes.byref(pkey)) == 1)
                ossl.check(lib.EVP_PKEY_get_bn_param(pkey, b"priv", ctypes.byref(bn)) == 1)
                ossl.check(0 < lib.BN_num_bits(bn) <= 256)
                out = ctypes.create_string_buffer(32)
                ossl.check(lib.BN_bn2binpad(bn, out, 32) == 32)
                value = int.from_bytes(out.raw, "big")
            except _OpenSslCallFailed as exc:
                raise SigningError("OpenSSL 3 could not generate an SM2 key") from exc
            finally:
                if bn.value:
                    lib.BN_clear_free(bn)
                if pkey.value:
                    lib.EVP_PKEY_free(pkey)
                if ctx:
                    lib.EVP_PKEY_CTX_free(ctx)
            if 1 <= value <= _SM2_N - 2:  # GB/T 32918: d in [1, n-2]
                return value

    def public_point(self, private_value: int) -> Point:
        try:
            return _private_entry(private_value)[1]
        except _OpenSslCallFailed as exc:
            raise SigningError("OpenSSL 3 refused the SM2 private key") from exc

    def sign(self, private_value: int, message: bytes) -> bytes:
        ossl = self._ossl
        lib = ossl.lib
        try:
            pkey = _private_entry(private_value)[0]
            mctx = lib.EVP_MD_CTX_new()
            ossl.check(bool(mctx))
        except _OpenSslCallFailed as exc:
            raise SigningError("OpenSSL 3 refused the SM2 private key") from exc
        try:
            pctx = ctypes.c_void_p()  # owned by mctx
            ossl.check(lib.EVP_DigestSignInit(mctx, ctypes.byref(pctx), ossl.sm3, None, pkey.pointer) == 1)
            ossl.check(lib.EVP_PKEY_CTX_set1_id(pctx, _SIGNER_ID, len(_SIGNER_ID)) == 1)
            out = ctypes.create_string_buffer(_MAX_SIGNATURE)
            length = ctypes.c_size_t(_MAX_SIGNATURE)
            ossl.check(lib.EVP_DigestSign(mctx, out, ctypes.byref(length), message, len(message)) == 1)
            return out.raw[: length.value]
        except _OpenSslCallFailed as exc:
            raise SigningError("OpenSSL 3 failed to make an SM2 signature") from exc
        finally:
            lib.EVP_MD_CTX_free(mctx)

    def verify(self, public_point: Point, message: bytes, signature_der: bytes) -> bool:
        ossl = self._ossl
        lib = ossl.lib
        try:
            pkey = _public_pkey(public_point)
        except (_OpenSslCallFailed, OverflowError):  # off the curve, or coordinates beyond 256 bits
            return False
        mctx = lib.EVP_MD_CTX_new()
        if not mctx:
            lib.ERR_clear_error()
            raise SigningError("OpenSSL 3 could not allocate a digest context")
        try:
            pctx = ctypes.c_void_p()  # owned by mctx
            ossl.check(lib.EVP_DigestVerifyInit(mctx, ctypes.byref(pctx), ossl.sm3, None, pkey.pointer) == 1)
            ossl.check(lib.EVP_PKEY_CTX_set1_id(pctx, _SIGNER_ID, len(_SIGNER_ID)) == 1)
            signature = bytes(signature_der)
            result = lib.EVP_DigestVerify(mctx, signature, len(signature), message, len(message))
        except _OpenSslCallFailed as exc:
            raise SigningError("OpenSSL 3 could not set up an SM2 verification") from exc
        finally:
            lib.EVP_MD_CTX_free(mctx)
        if result != 1:  # 0: wrong signature; negative: malformed or unusable input
            lib.ERR_clear_error()
            return False
        return True
