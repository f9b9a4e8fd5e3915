"""The Redis dataset digest, defined once: the Lua script a sandbox server runs, and a pure-Python reference
that the tests hold the script to.

Definition (v1). enc(s) is the decimal byte length of s, ":", then s. A key's digest is
    SHA1( enc(name) enc(type) enc(ttl) enc(value) )
where type is what TYPE answers, ttl is "1" when the key has a time to live and "0" when not, and value is
    string   its bytes
    list     a chain over the elements in order: h = ""; for each e: h = hex(SHA1(h enc(e))); the last h
    stream   the same chain over the entries in ID order, an entry being enc(id) then enc(field) enc(value)
             for each of its fields in order ("" for an empty stream)
    set      hex of the XOR of SHA1(enc(member)) over the members
    hash     hex of the XOR of SHA1(enc(field) enc(value)) over the fields
    zset     hex of the XOR of SHA1(enc(member) enc(score)) over the members, score printed as C's %.17g
             (-0 as 0: servers answer 0 for a score of -0)
    other    "" (a module type: its name, type and TTL presence are covered, not its contents)
(hex: 40 lowercase digits). A logical db's digest is the sum of its keys' digests, as 160-bit big-endian
numbers, modulo 2**160. Sums and XORs make it independent of insertion order and of each server's internal
order (hash tables, encodings); members and fields are unique, so the XORs never cancel.

Why not DEBUG DIGEST-VALUE or DUMP: both describe a server's representation, not the data. DUMP carries
the RDB version and encoding, and DEBUG DIGEST-VALUE prints zset scores as each release formats doubles
(Redis 7.0 answers 0.1 as "0.10000000000000001", Valkey 9 as "0.1"), so the digest of a capture measured on
one server would not match the same data restored on another. Here each score is parsed and printed with
%.17g, which round-trips every double. The work stays in the server: only per-key digests leave it.
Consumer groups of streams and per-field TTLs of hashes are not part of v1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

DIGEST_ALGORITHM = "sum160(sha1 per key: name, type, ttl presence, value) v1"
MOD = 1 << 160
ZERO = "0" * 40


# KEYS: the keys to digest. Returns, per key: {type, ttl (0/1), digest, expiry in unix ms or -1};
# type "none" for a key that expired or vanished after SCAN returned it.
KEY_DIGEST_LUA = r"""
local function enc(s) return #s .. ':' .. s end
local function xor_into(acc, hex)
  for i = 1, 5 do acc[i] = bit.bxor(acc[i], tonumber(string.sub(hex, i * 8 - 7, i * 8), 16)) end
end
local function chain(h, piece) return redis.sha1hex(h .. piece) end

local function value_of(key, kind)
  if kind == 'string' then return redis.call('GET', key) end
  if kind == 'list' then
    local h, start = '', 0
    while true do
      local chunk = redis.call('LRANGE', key, start, start + 999)
      for _, e in ipairs(chunk) do h = chain(h, enc(e)) end
      if #chunk < 1000 then return h end
      start = start + 1000
    end
  end
  if kind == 'stream' then
    local h, from = '', '-'
    while true do
      local chunk = redis.call('XRANGE', key, from, '+', 'COUNT', 1000)
      for _, entry in ipairs(chunk) do
        local parts = {enc(entry[1])}
        for _, item in ipairs(entry[2]) do parts[#parts + 1] = enc(item) end
        h = chain(h, table.concat(parts))
        from = '(' .. entry[1]
      end
      if #chunk < 1000 then return h end
    end
  end
  local acc = {0, 0, 0, 0, 0}
  if kind == 'set' then
    for _, m in ipairs(redis.call('SMEMBERS', key)) do xor_into(acc, redis.sha1hex(enc(m))) end
  elseif kind == 'hash' then
    local flat = redis.call('HGETALL', key)
    for i = 1, #flat, 2 do xor_into(acc, redis.sha1hex(enc(flat[i]) .. enc(flat[i + 1]))) end
  elseif kind == 'zset' then
    local flat = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
    for i = 1, #flat, 2 do
      local score = tonumber(flat[i + 1])
      if score == 0 then score = 0 end
      xor_into(acc, redis.sha1hex(enc(flat[i]) .. enc(string.format('%.17g', score))))
    end
  else
    return ''
  end
  local out = {}
  for i = 1, 5 do out[i] = bit.tohex(acc[i], 8) end
  return table.concat(out)
end

local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
-- the stored expiry itself (Redis 7.0+, Valkey); before 7.0 the clock plus the time to live, which is off by the
-- milliseconds between the script's start (PTTL's clock) and TIME
local function expiry_of(key, pttl)
  local at = redis.pcall('PEXPIRETIME', key)
  if type(at) == 'number' and at >= 0 then return at end
  return now_ms + pttl
end
local out = {}
for i, key in ipairs(KEYS) do
  local kind = redis.call('TYPE', key)['ok']
  if kind == 'none' then
    out[i] = {kind, 0, '', -1}
  else
    local pttl = redis.call('PTTL', key)
    local ttl = 0
    if pttl >= 0 then ttl = 1 end
    local digest = redis.sha1hex(enc(key) .. enc(kind) .. enc(tostring(ttl)) .. enc(value_of(key, kind)))
    local expiry = -1
    if ttl == 1 then expiry = expiry_of(key, pttl) end
    out[i] = {kind, ttl, digest, expiry}
  end
end
return out
"""


def enc(data: bytes) -> bytes:
    return str(len(data)).encode() + b":" + data


def sha1_hex(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def score_text(score: float) -> bytes:
    """A zset score as C's printf("%.17g") prints it (Python's formatting is the same, inf included)."""
    return format(score if score != 0 else 0.0, ".17g").encode()


def _xor(hexes: Iterable[str]) -> str:
    acc = 0
    for item in hexes:
        acc ^= int(item, 16)
    return f"{acc:040x}"


def _chain(pieces: Iterable[bytes]) -> str:
    h = ""
    for piece in pieces:
        h = sha1_hex(h.encode() + piece)
    return h


def value_part(kind: str, value: object) -> bytes:
    """The `value` of the definition, from a key's contents as plain Python values."""
    if kind == "string":
        assert isinstance(value, bytes)
        return value
    if kind == "list":
        assert isinstance(value, Sequence)
        return _chain(enc(e) for e in value).encode()
    if kind == "stream":
        assert isinstance(value, Sequence)
        return _chain(enc(i) + b"".join(enc(f) + enc(v) for f, v in fields) for i, fields in value).encode()
    if kind == "set":
        assert isinstance(value, Iterable)
        return _xor(sha1_hex(enc(m)) for m in value).encode()
    if kind == "hash":
        assert isinstance(value, Mapping)
        return _xor(sha1_hex(enc(f) + enc(v)) for f, v in value.items()).encode()
    if kind == "zset":
        assert isinstance(value, Mapping)
        return _xor(sha1_hex(enc(m) + enc(score_text(s))) for m, s in value.items()).encode()
    return b""


def key_digest(name: bytes, kind: str, has_ttl: bool, value: object) -> str:
    ttl = b"1" if has_ttl else b"0"
    return sha1_hex(enc(name) + enc(kind.encode()) + enc(ttl) + enc(value_part(kind, value)))


def combine(digests: Iterable[str]) -> str:
    """A logical db's digest from its keys' digests: their sum modulo 2**160."""
    return f"{sum(int(d, 16) for d in digests) % MOD:040x}"


def difference(total: str, part: str) -> str:
    """The digest of the keys in `total` but not in `part` (the sum's inverse)."""
    return f"{(int(total, 16) - int(part, 16)) % MOD:040x}"
