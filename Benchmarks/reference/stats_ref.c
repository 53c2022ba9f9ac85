/*
 * stats_ref: the reference Chorus is measured against (issue "Performance"). It reads a batch file
 * (docs/FORMAT.md 6) and, on as many threads as there are cores, does exactly the libsodium calls
 * that decoding the answers section of each envelope needs (FORMAT.md 5.6): crypto_box_seal_open of
 * each stanza until one opens, the header MAC (crypto_generichash keyed with MK, compared with
 * sodium_memcmp), and crypto_aead_xchacha20poly1305_ietf_decrypt of the answers. It then parses the
 * answers text just enough to count one field (default `setting`).
 *
 *   stats_ref [-s] [-H] [-f FIELD] [-t THREADS] KEYFILE PASSPHRASE_FILE BATCH
 *
 *   -s  review mode: also decrypt the story section (reviewer stanzas), like `chorus review`.
 *   -H  also check the batch's BLAKE2b-256 checksum (on the main thread while workers decrypt).
 *
 * The secret key file is unlocked as FORMAT.md 2.3 says (Argon2id, then the AEAD). Build:
 *   cc -O2 -o stats_ref stats_ref.c -lsodium -lpthread
 * Not hardened and not a decoder to trust: it skips the strict checks Chorus makes (canonical padding,
 * answers grammar); it is the floor of the work, the "physical limit".
 */
#include <sodium.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_VALUES 256

static const unsigned char *batch;
static size_t batch_size;
static uint64_t *offsets; /* offset of each envelope (after its length prefix) */
static uint32_t *lengths;
static uint64_t entry_count;
static atomic_uint_fast64_t next_entry;
static unsigned char pk[32], sk[32];
static int review_mode;
static const char *field = "setting";

struct counts {
    char values[MAX_VALUES][49];
    uint64_t n[MAX_VALUES];
    int used;
    uint64_t opened, failed, stories;
    uint64_t checksum; /* folds a byte of each story so the decryption cannot be optimised away */
};

static uint32_t u32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint64_t u64(const unsigned char *p) { return (uint64_t)u32(p) << 32 | u32(p + 4); }

static void die(const char *m) { fprintf(stderr, "stats_ref: %s\n", m); exit(2); }

static void count_add(struct counts *c, const char *v, size_t len, uint64_t k) {
    for (int i = 0; i < c->used; i++)
        if (strlen(c->values[i]) == len && memcmp(c->values[i], v, len) == 0) { c->n[i] += k; return; }
    if (c->used == MAX_VALUES || len > 48) die("too many distinct values");
    memcpy(c->values[c->used], v, len);
    c->values[c->used][len] = 0;
    c->n[c->used++] = k;
}

static void count_value(struct counts *c, const char *v, size_t len) { count_add(c, v, len, 1); }

static void open_entry(const unsigned char *e, uint32_t len, struct counts *c, unsigned char *answers, unsigned char *story) {
    if (len < 50) { c->failed++; return; }
    unsigned n = e[41];
    uint32_t pa = u32(e + 42), ps = u32(e + 46);
    size_t h = 50 + 145 * (size_t)n;
    if ((size_t)len != h + 64 + pa + ps || pa > 65536) { c->failed++; return; }
    unsigned char s[97];
    int found = 0;
    for (unsigned i = 0; i < n && !found; i++)
        found = crypto_box_seal_open(s, e + 50 + 145 * i, 145, pk, sk) == 0;
    if (!found || (s[0] != 1 && s[0] != 2)) { c->failed++; return; }
    unsigned char mac[32];
    crypto_generichash(mac, 32, e, h, s + 1, 32);
    if (sodium_memcmp(mac, e + h, 32) != 0) { c->failed++; return; }
    unsigned char nonce[24] = {0};
    nonce[23] = 1;
    unsigned long long plen;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(answers, &plen, NULL, e + h + 32, pa + 16, e, h + 32, nonce, s + 33) != 0) {
        c->failed++;
        return;
    }
    if (review_mode && s[0] == 1) {
        nonce[23] = 2;
        unsigned long long slen;
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(story, &slen, NULL, e + h + 48 + pa, ps + 16, e, h + 32, nonce, s + 65) != 0) {
            c->failed++;
            return;
        }
        c->stories++;
        c->checksum += story[4 + (slen > 4 ? (slen - 5) / 2 : 0)];
    }
    sodium_memzero(s, sizeof s);
    /* The answers: u32 L, then L bytes of text; find "\nFIELD=" and count the value up to "\n". */
    uint32_t l = u32(answers);
    if (l > plen - 4) { c->failed++; return; }
    const char *text = (const char *)answers + 4;
    char key[40];
    int kl = snprintf(key, sizeof key, "\n%s=", field);
    const char *p = memmem(text, l, key, (size_t)kl);
    if (p) {
        p += kl;
        const char *end = memchr(p, '\n', (size_t)(text + l - p));
        if (!end) { c->failed++; return; }
        count_value(c, p, (size_t)(end - p));
    } else {
        count_value(c, "(not answered)", 14);
    }
    c->opened++;
}

static void *worker(void *arg) {
    struct counts *c = arg;
    unsigned char *answers = malloc(65536 + 16), *story = review_mode ? malloc(16777216 + 16) : NULL;
    for (;;) {
        uint64_t i = atomic_fetch_add(&next_entry, 64);
        if (i >= entry_count) break;
        uint64_t end = i + 64 < entry_count ? i + 64 : entry_count;
        for (; i < end; i++) open_entry(batch + offsets[i], lengths[i], c, answers, story);
    }
    sodium_memzero(answers, 65536 + 16);
    free(answers);
    free(story);
    return NULL;
}

/* FORMAT.md 2.3: unlock the secret key file with the passphrase. */
static void unlock_key(const char *keyfile, const char *passfile) {
    char text[8192], pass[1024], b64[8192];
    FILE *f = fopen(keyfile, "r");
    if (!f) die("cannot open the key file");
    size_t tl = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[tl] = 0;
    f = fopen(passfile, "r");
    if (!f) die("cannot open the passphrase file");
    if (!fgets(pass, sizeof pass, f)) die("empty passphrase file");
    fclose(f);
    pass[strcspn(pass, "\r\n")] = 0;
    size_t bl = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (line[0] != '-') { size_t n = strlen(line); memcpy(b64 + bl, line, n); bl += n; }
    unsigned char blob[512];
    size_t blob_len;
    if (sodium_base642bin(blob, sizeof blob, b64, bl, NULL, &blob_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        die("bad base64 in the key file");
    if (blob_len < 149 || memcmp(blob, "CHORUS-K", 8) != 0 || blob[8] != 2 || blob[10] != 2) die("not a Chorus secret key");
    unsigned name_len = blob[75];
    if (blob_len != 148 + name_len) die("bad key file length");
    unsigned char wrap[32];
    if (crypto_pwhash(wrap, 32, pass, strlen(pass), blob + 27, u64(blob + 11), (size_t)u64(blob + 19), crypto_pwhash_ALG_ARGON2ID13) != 0)
        die("out of memory in Argon2id");
    unsigned long long out_len;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(sk, &out_len, NULL, blob + 100 + name_len, 48, blob, 100 + name_len,
                                                   blob + 76 + name_len, wrap) != 0)
        die("wrong passphrase");
    memcpy(pk, blob + 43, 32);
    sodium_memzero(wrap, sizeof wrap);
}

static void *hash_batch(void *arg) {
    unsigned char *ok = arg, digest[32];
    crypto_generichash(digest, 32, batch, batch_size - 32, NULL, 0);
    *ok = sodium_memcmp(digest, batch + batch_size - 32, 32) == 0;
    return NULL;
}

int main(int argc, char **argv) {
    int threads = (int)sysconf(_SC_NPROCESSORS_ONLN), check_hash = 0, opt;
    while ((opt = getopt(argc, argv, "sHf:t:")) != -1) {
        switch (opt) {
        case 's': review_mode = 1; break;
        case 'H': check_hash = 1; break;
        case 'f': field = optarg; break;
        case 't': threads = atoi(optarg); break;
        default: die("usage: stats_ref [-s] [-H] [-f FIELD] [-t THREADS] KEYFILE PASSPHRASE_FILE BATCH");
        }
    }
    if (argc - optind != 3 || threads < 1 || strlen(field) > 32) die("usage: stats_ref [-s] [-H] [-f FIELD] [-t THREADS] KEYFILE PASSPHRASE_FILE BATCH");
    if (sodium_init() < 0) die("sodium_init failed");
    unlock_key(argv[optind], argv[optind + 1]);

    int fd = open(argv[optind + 2], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) die("cannot open the batch");
    batch_size = (size_t)st.st_size;
    if (batch_size < 57) die("too short for a batch");
    batch = mmap(NULL, batch_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (batch == MAP_FAILED) die("mmap failed");
    madvise((void *)batch, batch_size, MADV_SEQUENTIAL);
    if (memcmp(batch, "CHORUS-B", 8) != 0 || batch[8] != 2) die("not a Chorus batch");
    entry_count = u64(batch + 9);
    size_t pos = 25 + (size_t)u32(batch + 21) + 32 * (size_t)u32(batch + 17);
    if (entry_count > batch_size / 4000) die("entry count larger than the file");
    offsets = malloc(entry_count * sizeof *offsets);
    lengths = malloc(entry_count * sizeof *lengths);
    for (uint64_t i = 0; i < entry_count; i++) {
        if (pos + 4 > batch_size - 32) die("framing lost");
        lengths[i] = u32(batch + pos);
        offsets[i] = pos + 4;
        pos += 4 + (size_t)lengths[i];
        if (pos > batch_size - 32) die("framing lost");
    }

    pthread_t hasher;
    unsigned char hash_ok = 0;
    if (check_hash) pthread_create(&hasher, NULL, hash_batch, &hash_ok);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    struct counts *cs = calloc((size_t)threads, sizeof *cs);
    for (int t = 0; t < threads; t++) pthread_create(&tids[t], NULL, worker, &cs[t]);
    struct counts total = {0};
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        for (int i = 0; i < cs[t].used; i++)
            count_add(&total, cs[t].values[i], strlen(cs[t].values[i]), cs[t].n[i]);
        total.opened += cs[t].opened;
        total.failed += cs[t].failed;
        total.stories += cs[t].stories;
        total.checksum += cs[t].checksum;
    }
    if (check_hash) {
        pthread_join(hasher, NULL);
        if (!hash_ok) fprintf(stderr, "stats_ref: the batch checksum does not match\n");
    }
    printf("%s\tentries\n", field);
    for (int i = 0; i < total.used; i++) printf("%s\t%llu\n", total.values[i], (unsigned long long)total.n[i]);
    printf("opened %llu, failed %llu, stories %llu (checksum %llu), threads %d\n", (unsigned long long)total.opened,
           (unsigned long long)total.failed, (unsigned long long)total.stories, (unsigned long long)total.checksum, threads);
    sodium_memzero(sk, sizeof sk);
    return total.failed ? 1 : 0;
}
