/*
 * @hopsafe/native-aead: AES-GCM, ChaCha20-Poly1305 and HMAC on the OpenSSL that Node.js itself links (its libcrypto
 * symbols are exported to addons), through Node-API, with the key schedule kept between calls.
 *
 * node:crypto allows no cipher reuse: every record pays createCipheriv/createDecipheriv (cipher fetch, key schedule,
 * GHASH table, several JS<->C++ crossings). Here a key's EVP_CIPHER_CTX / EVP_MAC_CTX is made once and each call only
 * sets the nonce: one crossing, no allocation.
 *
 * Every argument is checked here again, whatever the JS caller checked: types, lengths, bounds of `out` (a failed check
 * returns an error code, never reads or writes out of bounds). The tag is compared by OpenSSL in constant time.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum { ALG_AES128GCM = 0, ALG_AES256GCM = 1, ALG_CHACHA20POLY1305 = 2, ALG_HMAC_SHA256 = 3, ALG_HMAC_SHA384 = 4 };
enum { OK = 0, E_ARG = 1, E_KEY = 2, E_NONCE = 3, E_BOUNDS = 4, E_CRYPTO = 5 };
#define NONCE_LEN 12
#define TAG_LEN 16
#define MAX_KEY 64

/* Key contexts per Node-API environment (each worker thread has its own table): SLOTS slots, two ways per set, filled
 * lazily. The caller names a slot (any number; its set is slot mod SETS); the key bytes decide: a slot holding exactly
 * (alg, key) is used as is, else the least recently used way of the set is re-keyed. So memory is bounded (at most
 * SLOTS contexts, whatever the number of sessions) and a wrong or stale slot hint costs a re-key, never a wrong key. */
#define SETS 256
#define WAYS 2

typedef struct {
  int alg;
  size_t key_len;
  unsigned char key[MAX_KEY];
  uint64_t used;
  EVP_CIPHER_CTX *enc;
  EVP_CIPHER_CTX *dec;
  EVP_MAC_CTX *mac;
} Keyed;

typedef struct {
  uint64_t tick;
  uint64_t rekeys;
  EVP_MAC *hmac; /* fetched once per environment, for hmacOnce */
  Keyed slots[SETS * WAYS];
} Table;

static void keyed_clear(Keyed *k) {
  if (k->enc) EVP_CIPHER_CTX_free(k->enc);
  if (k->dec) EVP_CIPHER_CTX_free(k->dec);
  if (k->mac) EVP_MAC_CTX_free(k->mac);
  k->enc = k->dec = NULL;
  k->mac = NULL;
  OPENSSL_cleanse(k->key, sizeof k->key);
  k->key_len = 0;
  k->alg = -1;
  k->used = 0;
}

static void table_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Table *t = data;
  for (size_t i = 0; i < SETS * WAYS; i++) keyed_clear(&t->slots[i]);
  if (t->hmac) EVP_MAC_free(t->hmac);
  free(t);
}

static size_t key_length(int alg) {
  switch (alg) {
    case ALG_AES128GCM: return 16;
    case ALG_AES256GCM: return 32;
    case ALG_CHACHA20POLY1305: return 32;
    default: return 0;
  }
}

static const EVP_CIPHER *cipher_of(int alg) {
  switch (alg) {
    case ALG_AES128GCM: return EVP_aes_128_gcm();
    case ALG_AES256GCM: return EVP_aes_256_gcm();
    case ALG_CHACHA20POLY1305: return EVP_chacha20_poly1305();
    default: return NULL;
  }
}

static int holds(const Keyed *k, int alg, const unsigned char *key, size_t key_len) {
  return k->alg == alg && k->key_len == key_len && CRYPTO_memcmp(k->key, key, key_len) == 0;
}

/* Keys `k` for (alg, key). A slot that already had contexts of the same algorithm keeps them (only the key schedule
 * is redone); the old key bytes are overwritten. */
static int keyed_set(Keyed *k, int alg, const unsigned char *key, size_t key_len) {
  if (key_len == 0 || key_len > MAX_KEY) return E_KEY;
  if (alg == ALG_HMAC_SHA256 || alg == ALG_HMAC_SHA384) {
    if (k->alg != alg || !k->mac) {
      keyed_clear(k);
      EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
      if (!hmac) return E_CRYPTO;
      k->mac = EVP_MAC_CTX_new(hmac); /* the context holds its own reference */
      EVP_MAC_free(hmac);
      if (!k->mac) return E_CRYPTO;
    }
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, alg == ALG_HMAC_SHA256 ? "SHA256" : "SHA384", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(k->mac, key, key_len, params) != 1) { keyed_clear(k); return E_CRYPTO; }
  } else {
    const EVP_CIPHER *c = cipher_of(alg);
    if (!c) return E_ARG;
    if (key_len != key_length(alg)) return E_KEY;
    if (k->alg != alg || !k->enc || !k->dec) {
      keyed_clear(k);
      k->enc = EVP_CIPHER_CTX_new();
      k->dec = EVP_CIPHER_CTX_new();
      if (!k->enc || !k->dec ||
          EVP_EncryptInit_ex(k->enc, c, NULL, NULL, NULL) != 1 ||
          EVP_CIPHER_CTX_ctrl(k->enc, EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
          EVP_DecryptInit_ex(k->dec, c, NULL, NULL, NULL) != 1 ||
          EVP_CIPHER_CTX_ctrl(k->dec, EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, NULL) != 1) {
        keyed_clear(k);
        return E_CRYPTO;
      }
    }
    if (EVP_EncryptInit_ex(k->enc, NULL, NULL, key, NULL) != 1 || EVP_DecryptInit_ex(k->dec, NULL, NULL, key, NULL) != 1) {
      keyed_clear(k);
      return E_CRYPTO;
    }
  }
  OPENSSL_cleanse(k->key, sizeof k->key);
  memcpy(k->key, key, key_len);
  k->key_len = key_len;
  k->alg = alg;
  return OK;
}

/* The slot of set (hint mod SETS) that holds (alg, key), else its least recently used way, re-keyed. */
static Keyed *keyed_find(Table *t, uint32_t hint, int alg, const unsigned char *key, size_t key_len, int *rc) {
  Keyed *set = &t->slots[(hint % SETS) * WAYS];
  Keyed *k = NULL;
  for (int w = 0; w < WAYS; w++)
    if (holds(&set[w], alg, key, key_len)) k = &set[w];
  if (!k) {
    k = &set[0];
    for (int w = 1; w < WAYS; w++)
      if (set[w].used < k->used) k = &set[w];
    *rc = keyed_set(k, alg, key, key_len);
    if (*rc != OK) return NULL;
    t->rekeys++;
  }
  k->used = ++t->tick;
  *rc = OK;
  return k;
}

/* A Uint8Array argument: data pointer and length (a zero-length view may have a NULL pointer). */
static int u8(napi_env env, napi_value v, unsigned char **p, size_t *n) {
  napi_typedarray_type t;
  size_t len;
  void *data;
  if (napi_get_typedarray_info(env, v, &t, &len, &data, NULL, NULL) != napi_ok || t != napi_uint8_array) return 0;
  if (len > INT_MAX) return 0;
  *p = data;
  *n = len;
  return 1;
}

static napi_value int_result(napi_env env, int code) {
  napi_value r;
  napi_create_int32(env, code, &r);
  return r;
}

static Table *table_of(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return data;
}

/* The arguments seal and open share: slot, alg (an AEAD), key, nonce, data (plaintext or sealed), aad, out. */
typedef struct {
  uint32_t slot;
  int32_t alg;
  unsigned char *key, *nonce, *data, *aad, *out;
  size_t key_n, nonce_n, data_n, aad_n, out_n;
} AeadArgs;

/* Reads exactly `argc` arguments (7, or 8 with seal's offset into argv[7]) into `a`: OK, E_ARG or E_NONCE. */
static int aead_args(napi_env env, napi_callback_info info, size_t argc, napi_value *argv, AeadArgs *a) {
  size_t got = argc;
  if (napi_get_cb_info(env, info, &got, argv, NULL, NULL) != napi_ok || got != argc) return E_ARG;
  if (napi_get_value_uint32(env, argv[0], &a->slot) != napi_ok || napi_get_value_int32(env, argv[1], &a->alg) != napi_ok ||
      !u8(env, argv[2], &a->key, &a->key_n) || !u8(env, argv[3], &a->nonce, &a->nonce_n) ||
      !u8(env, argv[4], &a->data, &a->data_n) || !u8(env, argv[5], &a->aad, &a->aad_n) || !u8(env, argv[6], &a->out, &a->out_n))
    return E_ARG;
  if (a->alg > ALG_CHACHA20POLY1305 || a->alg < 0) return E_ARG;
  if (a->nonce_n != NONCE_LEN) return E_NONCE;
  return OK;
}

/* seal(slot, alg, key, nonce, plaintext, aad, out, offset) -> 0 | error code.
 * Writes ciphertext || tag at out[offset .. offset + plaintext.length + 16). The AAD is absorbed before anything is
 * written, and the plaintext is moved to its place first, so `aad` may lie in `out` before `offset` and `plaintext`
 * may overlap the destination (the cipher then runs in place). */
static napi_value js_seal(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  AeadArgs a;
  uint32_t off;
  Table *t = table_of(env);
  int rc = t ? aead_args(env, info, 8, argv, &a) : E_ARG;
  if (rc != OK) return int_result(env, rc);
  if (napi_get_value_uint32(env, argv[7], &off) != napi_ok) return int_result(env, E_ARG);
  size_t pt_n = a.data_n;
  if (off > a.out_n || a.out_n - off < pt_n || a.out_n - off - pt_n < TAG_LEN) return int_result(env, E_BOUNDS);
  Keyed *k = keyed_find(t, a.slot, a.alg, a.key, a.key_n, &rc);
  if (!k) return int_result(env, rc);
  int len;
  unsigned char *dst = a.out + off;
  if (EVP_EncryptInit_ex(k->enc, NULL, NULL, NULL, a.nonce) != 1) return int_result(env, E_CRYPTO);
  if (a.aad_n > 0 && EVP_EncryptUpdate(k->enc, NULL, &len, a.aad, (int)a.aad_n) != 1) return int_result(env, E_CRYPTO);
  if (pt_n > 0) {
    if (a.data != dst) memmove(dst, a.data, pt_n);
    if (EVP_EncryptUpdate(k->enc, dst, &len, dst, (int)pt_n) != 1 || (size_t)len != pt_n) return int_result(env, E_CRYPTO);
  }
  if (EVP_EncryptFinal_ex(k->enc, dst + pt_n, &len) != 1 || len != 0) return int_result(env, E_CRYPTO);
  if (EVP_CIPHER_CTX_ctrl(k->enc, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, dst + pt_n) != 1) return int_result(env, E_CRYPTO);
  return int_result(env, OK);
}

/* open(slot, alg, key, nonce, sealed, aad, out) -> 0 (opened into out[0 .. sealed.length - 16)) | -1 (did not
 * authenticate: out is zeroed) | error code. `out` must not overlap `sealed`. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  AeadArgs a;
  Table *t = table_of(env);
  int rc = t ? aead_args(env, info, 7, argv, &a) : E_ARG;
  if (rc != OK) return int_result(env, rc);
  unsigned char *ct = a.data, *out = a.out, *aad = a.aad, *nonce = a.nonce;
  size_t ct_n = a.data_n, aad_n = a.aad_n;
  if (ct_n < TAG_LEN || a.out_n < ct_n - TAG_LEN) return int_result(env, E_BOUNDS);
  size_t n = ct_n - TAG_LEN;
  if (n > 0 && out < ct + ct_n && ct < out + n) return int_result(env, E_BOUNDS);
  Keyed *k = keyed_find(t, a.slot, a.alg, a.key, a.key_n, &rc);
  if (!k) return int_result(env, rc);
  int len, ok = 1;
  unsigned char tag[TAG_LEN];
  memcpy(tag, ct + n, TAG_LEN);
  if (EVP_DecryptInit_ex(k->dec, NULL, NULL, NULL, nonce) != 1) ok = 0;
  if (ok && aad_n > 0 && EVP_DecryptUpdate(k->dec, NULL, &len, aad, (int)aad_n) != 1) ok = 0;
  if (ok && n > 0 && (EVP_DecryptUpdate(k->dec, out, &len, ct, (int)n) != 1 || (size_t)len != n)) ok = 0;
  if (ok && EVP_CIPHER_CTX_ctrl(k->dec, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) != 1) ok = 0;
  if (ok && EVP_DecryptFinal_ex(k->dec, out + n, &len) != 1) ok = 0;
  if (!ok) {
    OPENSSL_cleanse(out, n);
    return int_result(env, -1);
  }
  return int_result(env, OK);
}

/* hmac(slot, alg, key, data, out) -> 0 | error code: the full-length HMAC of data into out[0 .. 32 or 48). */
static napi_value js_hmac(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5) return int_result(env, E_ARG);
  Table *t = table_of(env);
  uint32_t slot;
  int32_t alg;
  unsigned char *key, *data, *out;
  size_t key_n, data_n, out_n;
  if (!t || napi_get_value_uint32(env, argv[0], &slot) != napi_ok || napi_get_value_int32(env, argv[1], &alg) != napi_ok || !u8(env, argv[2], &key, &key_n) ||
      !u8(env, argv[3], &data, &data_n) || !u8(env, argv[4], &out, &out_n))
    return int_result(env, E_ARG);
  if (alg != ALG_HMAC_SHA256 && alg != ALG_HMAC_SHA384) return int_result(env, E_ARG);
  size_t mac_n = alg == ALG_HMAC_SHA256 ? 32 : 48;
  if (out_n < mac_n) return int_result(env, E_BOUNDS);
  int rc;
  Keyed *k = keyed_find(t, slot, alg, key, key_n, &rc);
  if (!k) return int_result(env, rc);
  size_t got = 0;
  /* A NULL key re-initialises HMAC with the key it holds (no new key schedule). */
  if (EVP_MAC_init(k->mac, NULL, 0, NULL) != 1 || EVP_MAC_update(k->mac, data, data_n) != 1 ||
      EVP_MAC_final(k->mac, out, &got, out_n) != 1 || got != mac_n)
    return int_result(env, E_CRYPTO);
  return int_result(env, OK);
}

/* hmacOnce(alg, key, data, out) -> 0 | error code: HMAC under a key that is not kept (a context made, used and freed:
 * OpenSSL cleanses it), for one-time secrets such as HKDF's PRKs. */
static napi_value js_hmac_once(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  Table *t = table_of(env);
  int32_t alg;
  unsigned char *key, *data, *out;
  size_t key_n, data_n, out_n;
  if (!t || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 ||
      napi_get_value_int32(env, argv[0], &alg) != napi_ok || !u8(env, argv[1], &key, &key_n) ||
      !u8(env, argv[2], &data, &data_n) || !u8(env, argv[3], &out, &out_n))
    return int_result(env, E_ARG);
  if (alg != ALG_HMAC_SHA256 && alg != ALG_HMAC_SHA384) return int_result(env, E_ARG);
  size_t mac_n = alg == ALG_HMAC_SHA256 ? 32 : 48;
  if (out_n < mac_n) return int_result(env, E_BOUNDS);
  if (key_n == 0) return int_result(env, E_KEY);
  if (!t->hmac && !(t->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL))) return int_result(env, E_CRYPTO);
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(t->hmac);
  if (!ctx) return int_result(env, E_CRYPTO);
  OSSL_PARAM params[2];
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, alg == ALG_HMAC_SHA256 ? "SHA256" : "SHA384", 0);
  params[1] = OSSL_PARAM_construct_end();
  size_t got = 0;
  int ok = EVP_MAC_init(ctx, key, key_n, params) == 1 && EVP_MAC_update(ctx, data, data_n) == 1 &&
           EVP_MAC_final(ctx, out, &got, out_n) == 1 && got == mac_n;
  EVP_MAC_CTX_free(ctx);
  return int_result(env, ok ? OK : E_CRYPTO);
}

/* stats() -> [slots in use, re-keys so far] */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  (void)info;
  Table *t = table_of(env);
  napi_value r, v;
  napi_create_array_with_length(env, 2, &r);
  uint32_t used = 0;
  if (t)
    for (size_t i = 0; i < SETS * WAYS; i++) used += t->slots[i].alg >= 0;
  napi_create_uint32(env, used, &v);
  napi_set_element(env, r, 0, v);
  napi_create_double(env, t ? (double)t->rekeys : 0, &v);
  napi_set_element(env, r, 1, v);
  return r;
}

/* forget(first, last): frees the contexts of the sets of hints first..last (mod SETS, at most all of them) and
 * overwrites their keys: the caller is wiping the key bytes those hints stand for. */
static napi_value js_forget(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t first, last;
  Table *t = table_of(env);
  if (!t || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      napi_get_value_uint32(env, argv[0], &first) != napi_ok || napi_get_value_uint32(env, argv[1], &last) != napi_ok)
    return int_result(env, E_ARG);
  uint32_t n = last >= first ? last - first + 1 : 0;
  if (n > SETS) n = SETS;
  for (uint32_t i = 0; i < n; i++) {
    Keyed *set = &t->slots[((first + i) % SETS) * WAYS];
    for (int w = 0; w < WAYS; w++) keyed_clear(&set[w]);
  }
  return int_result(env, OK);
}

/* wipe(): frees every context and overwrites every key this environment holds. */
static napi_value js_wipe(napi_env env, napi_callback_info info) {
  (void)info;
  Table *t = table_of(env);
  if (t)
    for (size_t i = 0; i < SETS * WAYS; i++) keyed_clear(&t->slots[i]);
  return NULL;
}

static napi_value js_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &r);
  return r;
}

NAPI_MODULE_INIT() {
  Table *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  for (size_t i = 0; i < SETS * WAYS; i++) t->slots[i].alg = -1;
  if (napi_set_instance_data(env, t, table_finalize, NULL) != napi_ok) { free(t); return NULL; }
  static const struct { const char *name; napi_callback cb; } fns[] = {
    {"seal", js_seal}, {"open", js_open}, {"hmac", js_hmac}, {"hmacOnce", js_hmac_once}, {"opensslVersion", js_version}, {"stats", js_stats}, {"forget", js_forget}, {"wipe", js_wipe},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &f) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, fns[i].name, f) != napi_ok) return NULL;
  }
  return exports;
}
