/*
 * sigv4.c - AWS Signature Version 4 (contract in sigv4.h).
 *
 * How: the four steps of the AWS documentation, each written into a buf: (1) the canonical
 * request (method, canonical URI, canonical query, canonical headers, signed header names,
 * hex SHA-256 of the body); (2) the string to sign ("AWS4-HMAC-SHA256", date, scope, hex
 * SHA-256 of the canonical request); (3) the signing key, HMAC chained over date, region,
 * service and "aws4_request" starting from "AWS4" + secret; (4) the hex HMAC of the string to
 * sign under that key. Headers are sorted by lowercased name with a small insertion sort (a
 * request signs a handful); repeated names are joined with ',' in their given order.
 *
 * Why our own: libcurl 7.88's built-in signer encodes the path once, so Bedrock model ids with
 * ':' ("anthropic.claude-3-haiku-20240307-v1:0") get a signature AWS rejects. The tests check
 * this file against AWS's published test-suite signatures and against botocore at test time.
 *
 * Threading: no state; any number of threads.
 */
#include "answer/sigv4.h"

#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/fs.h"

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

frugal_status sigv4_uri_encode(struct buf *out, const char *s, size_t len, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    frugal_status st = FRUGAL_OK;
    for (size_t i = 0; i < len && st == FRUGAL_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            st = buf_putc(out, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            st = buf_append(out, esc, 3);
        }
    }
    return st;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes %XX (and '+' kept as is: AWS does not treat it as a space) then re-encodes. */
static frugal_status put_query_part(struct buf *out, const char *s, size_t len)
{
    struct buf raw;
    frugal_status st = FRUGAL_OK;
    buf_init(&raw, 0);
    for (size_t i = 0; i < len && st == FRUGAL_OK; i++) {
        if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            st = buf_putc(&raw, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
            i += 2;
        } else {
            st = buf_putc(&raw, s[i]);
        }
    }
    if (st == FRUGAL_OK)
        st = sigv4_uri_encode(out, raw.ptr != NULL ? raw.ptr : "", raw.len, false);
    buf_release(&raw);
    return st;
}

struct qpair {
    char *text; /* owned: "name=value" encoded */
    size_t name_len;
};

static int qpair_cmp(const struct qpair *a, const struct qpair *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->text, b->text, n);
    if (c != 0)
        return c;
    if (a->name_len != b->name_len)
        return a->name_len < b->name_len ? -1 : 1;
    return strcmp(a->text + a->name_len, b->text + b->name_len);
}

static frugal_status canonical_query(struct buf *out, const char *q)
{
    struct qpair *pairs = NULL;
    size_t n = 0;
    size_t cap = 0;
    frugal_status st = FRUGAL_OK;
    const char *p = q;

    while (p != NULL && *p != '\0' && st == FRUGAL_OK) {
        const char *amp = strchr(p, '&');
        size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t nlen = eq != NULL ? (size_t)(eq - p) : len;
        struct buf one;
        if (len > 0) {
            buf_init(&one, 0);
            st = put_query_part(&one, p, nlen);
            if (st == FRUGAL_OK && n == cap) {
                size_t ncap = cap ? 2 * cap : 8;
                struct qpair *np = frugal_reallocarray(pairs, ncap, sizeof(*np));
                if (np == NULL)
                    st = FRUGAL_ENOMEM;
                else {
                    pairs = np;
                    cap = ncap;
                }
            }
            if (st == FRUGAL_OK) {
                size_t name_len = one.len;
                st = buf_putc(&one, '=');
                if (st == FRUGAL_OK && eq != NULL)
                    st = put_query_part(&one, eq + 1, len - nlen - 1);
                if (st == FRUGAL_OK) {
                    pairs[n].name_len = name_len;
                    pairs[n].text = buf_detach(&one);
                    if (pairs[n].text == NULL)
                        st = FRUGAL_ENOMEM;
                    else
                        n++;
                }
            }
            buf_release(&one);
        }
        p = amp != NULL ? amp + 1 : NULL;
    }
    for (size_t i = 1; i < n; i++) {
        struct qpair t = pairs[i];
        size_t j = i;
        while (j > 0 && qpair_cmp(&pairs[j - 1], &t) > 0) {
            pairs[j] = pairs[j - 1];
            j--;
        }
        pairs[j] = t;
    }
    for (size_t i = 0; i < n; i++) {
        if (st == FRUGAL_OK && i > 0)
            st = buf_putc(out, '&');
        if (st == FRUGAL_OK)
            st = buf_puts(out, pairs[i].text);
        frugal_free(pairs[i].text);
    }
    frugal_free(pairs);
    return st;
}

/* A header, lowercased and trimmed, ready to sort. */
struct chdr {
    char *name;  /* owned, lowercase */
    char *value; /* owned, trimmed, inner space runs folded */
};

static char *fold_value(const char *v)
{
    struct buf b;
    bool space = false;
    buf_init(&b, 0);
    while (*v == ' ' || *v == '\t')
        v++;
    for (; *v != '\0'; v++) {
        if (*v == ' ' || *v == '\t') {
            space = true;
            continue;
        }
        if (space && b.len > 0 && buf_putc(&b, ' ') != FRUGAL_OK)
            goto fail;
        space = false;
        if (buf_putc(&b, *v) != FRUGAL_OK)
            goto fail;
    }
    return buf_detach(&b);
fail:
    buf_release(&b);
    return NULL;
}

static frugal_status canonical_headers(struct buf *out, struct buf *signed_names,
                                       const struct sigv4_header *h, size_t n)
{
    struct chdr *hs = frugal_calloc(n ? n : 1, sizeof(*hs));
    frugal_status st = hs != NULL ? FRUGAL_OK : FRUGAL_ENOMEM;

    for (size_t i = 0; i < n && st == FRUGAL_OK; i++) {
        hs[i].name = frugal_strdup(h[i].name);
        hs[i].value = fold_value(h[i].value != NULL ? h[i].value : "");
        if (hs[i].name == NULL || hs[i].value == NULL) {
            st = FRUGAL_ENOMEM;
            break;
        }
        for (char *c = hs[i].name; *c != '\0'; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
    }
    /* stable insertion sort: repeated names keep their given order */
    for (size_t i = 1; i < n && st == FRUGAL_OK; i++) {
        struct chdr t = hs[i];
        size_t j = i;
        while (j > 0 && strcmp(hs[j - 1].name, t.name) > 0) {
            hs[j] = hs[j - 1];
            j--;
        }
        hs[j] = t;
    }
    for (size_t i = 0; i < n && st == FRUGAL_OK; i++) {
        bool repeat = i > 0 && strcmp(hs[i - 1].name, hs[i].name) == 0;
        if (repeat) {
            /* replace the previous "\n" with ",value\n" */
            out->len--;
            st = buf_printf(out, ",%s\n", hs[i].value);
            continue;
        }
        st = buf_printf(out, "%s:%s\n", hs[i].name, hs[i].value);
        if (st == FRUGAL_OK)
            st = buf_printf(signed_names, "%s%s", signed_names->len > 0 ? ";" : "", hs[i].name);
    }
    for (size_t i = 0; hs != NULL && i < n; i++) {
        frugal_free(hs[i].name);
        frugal_free(hs[i].value);
    }
    frugal_free(hs);
    return st;
}

static bool valid_date(const char *d)
{
    if (d == NULL || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
        return false;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (d[i] < '0' || d[i] > '9'))
            return false;
    return true;
}

static void hmac(const void *key, size_t key_len, const char *msg, size_t len,
                 unsigned char out[32])
{
    unsigned int out_len = 32;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, len, out, &out_len);
}

frugal_status sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *creds,
                         const char *amz_date, bool double_encode, struct buf *auth,
                         struct buf *canonical, struct buf *string_to_sign, struct err *err)
{
    struct buf cr;
    struct buf sts;
    struct buf names;
    struct buf key0;
    char date[9];
    char body_hash[65];
    char cr_hash[65];
    unsigned char k[32];
    char sig[65];
    frugal_status st;

    if (req == NULL || req->method == NULL || creds == NULL || creds->access_key == NULL ||
        creds->secret_key == NULL || creds->region == NULL || creds->service == NULL)
        return err_set(err, FRUGAL_EINVAL, "sigv4: missing request or credential field");
    if (!valid_date(amz_date))
        return err_set(err, FRUGAL_EINVAL, "sigv4: bad date '%s' (want YYYYMMDDTHHMMSSZ)",
                       amz_date != NULL ? amz_date : "(null)");
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    buf_init(&cr, 0);
    buf_init(&sts, 0);
    buf_init(&names, 0);
    buf_init(&key0, 0);

    /* 1. canonical request */
    st = buf_printf(&cr, "%s\n", req->method);
    if (st == FRUGAL_OK) {
        const char *path = req->path != NULL && req->path[0] != '\0' ? req->path : "/";
        if (double_encode)
            st = sigv4_uri_encode(&cr, path, strlen(path), true);
        else
            st = buf_puts(&cr, path);
    }
    if (st == FRUGAL_OK)
        st = buf_putc(&cr, '\n');
    if (st == FRUGAL_OK)
        st = canonical_query(&cr, req->query);
    if (st == FRUGAL_OK)
        st = buf_putc(&cr, '\n');
    if (st == FRUGAL_OK)
        st = canonical_headers(&cr, &names, req->headers, req->n_headers);
    fs_sha256_hex(req->body_len > 0 ? req->body : "", req->body_len, body_hash);
    if (st == FRUGAL_OK)
        st = buf_printf(&cr, "\n%s\n%s", names.ptr != NULL ? names.ptr : "", body_hash);

    /* 2. string to sign */
    if (st == FRUGAL_OK) {
        fs_sha256_hex(cr.ptr, cr.len, cr_hash);
        st = buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, date,
                        creds->region, creds->service, cr_hash);
    }
    /* 3. signing key, 4. signature */
    if (st == FRUGAL_OK)
        st = buf_printf(&key0, "AWS4%s", creds->secret_key);
    if (st == FRUGAL_OK) {
        static const char hexd[] = "0123456789abcdef";
        unsigned char mac[32];
        hmac(key0.ptr, key0.len, date, strlen(date), k);
        hmac(k, 32, creds->region, strlen(creds->region), k);
        hmac(k, 32, creds->service, strlen(creds->service), k);
        hmac(k, 32, "aws4_request", 12, k);
        hmac(k, 32, sts.ptr, sts.len, mac);
        for (int i = 0; i < 32; i++) {
            sig[2 * i] = hexd[mac[i] >> 4];
            sig[2 * i + 1] = hexd[mac[i] & 15];
        }
        sig[64] = '\0';
        OPENSSL_cleanse(k, sizeof(k));
        OPENSSL_cleanse(key0.ptr, key0.len);
        st = buf_printf(auth, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                        "SignedHeaders=%s, Signature=%s", creds->access_key, date, creds->region,
                        creds->service, names.ptr != NULL ? names.ptr : "", sig);
    }
    if (st == FRUGAL_OK && canonical != NULL)
        st = buf_append(canonical, cr.ptr, cr.len);
    if (st == FRUGAL_OK && string_to_sign != NULL)
        st = buf_append(string_to_sign, sts.ptr, sts.len);
    buf_release(&cr);
    buf_release(&sts);
    buf_release(&names);
    buf_release(&key0);
    if (st != FRUGAL_OK)
        return err_set(err, st, "sigv4: %s", frugal_strerror(st));
    return FRUGAL_OK;
}

void sigv4_format_date(long long unix_seconds, char out[17])
{
    struct tm tm;
    time_t t = (time_t)unix_seconds;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}
