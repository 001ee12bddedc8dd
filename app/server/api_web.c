/*
 * api_web.c - GET / and GET /web/{file}: the web UI, served from the files of web/ that
 * scripts/embed-web compiled into the binary (web_assets, generated at build time), so the
 * server needs no files at run time and the page always matches the binary.
 *
 * How: "/" is web/index.html; "/web/{file}" looks the name up in the table. No key is needed:
 * the page asks for one and sends it with every API call. Every reply carries its ETag (CRC and
 * size of the file, computed at build time) and "Cache-Control: no-cache", so a browser keeps
 * the file but revalidates it: an If-None-Match that names the current ETag gets 304 with no
 * body, and a new binary with changed files is picked up on the next load.
 *
 * Threading: the table is read-only; no state of its own.
 */
#include <string.h>

#include "server.h"

static const struct web_asset *find_asset(const char *name)
{
    for (size_t i = 0; i < web_n_assets; i++)
        if (strcmp(web_assets[i].name, name) == 0)
            return &web_assets[i];
    return NULL;
}

static void reply_asset(struct request *rq, struct response *rs, const char *name)
{
    const struct web_asset *a = find_asset(name);
    if (a == NULL) {
        api_reply_error(rs, 404, "not_found", "no such file in the web UI: %s", name);
        return;
    }
    rs->cache_control = "no-cache";
    rs->etag = a->etag;
    const char *inm = api_header(rq, "If-None-Match");
    if (inm != NULL && strstr(inm, a->etag) != NULL) {
        api_reply_text(rs, 304, a->content_type, "", 0);
        return;
    }
    api_reply_text(rs, 200, a->content_type, (const char *)a->data, a->len);
}

void api_web_index(struct request *rq, struct response *rs)
{
    reply_asset(rq, rs, "index.html");
}

void api_web_file(struct request *rq, struct response *rs)
{
    reply_asset(rq, rs, rq->params[0]);
}
