/*
 * import_ref: the reference for `chorus import` (issue "Performance"): the durable-write protocol of
 * docs/FORMAT.md 7.1, in plain C, for each envelope file given, one after the other as chorus does:
 * read the file, create tmp/<random> with O_CREAT|O_EXCL|O_NOFOLLOW (mode 0600), write, set the times
 * to 0 (futimens), fsync, link it to inbox/<id hex> (which fails rather than overwrite), unlink the
 * temporary name, fsync the inbox folder.
 *
 *   import_ref DEST FILE...      (DEST/inbox and DEST/tmp are made when missing)
 *
 * Build: cc -O2 -o import_ref import_ref.c -lsodium
 * No checks beyond the envelope's magic and size: it is the floor of the work, not an importer.
 */
#include <sodium.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what, const char *path) {
    fprintf(stderr, "import_ref: %s %s: %s\n", what, path, strerror(errno));
    exit(74);
}

static int open_dir(const char *dest, const char *sub) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dest, sub);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) die("cannot create", path);
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) die("cannot open", path);
    return fd;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: import_ref DEST FILE...\n");
        return 64;
    }
    if (sodium_init() < 0) return 70;
    if (mkdir(argv[1], 0700) != 0 && errno != EEXIST) die("cannot create", argv[1]);
    int inbox = open_dir(argv[1], "inbox"), tmp = open_dir(argv[1], "tmp");
    size_t cap = 1 << 16;
    unsigned char *buf = malloc(cap);
    int imported = 0, duplicates = 0;
    for (int i = 2; i < argc; i++) {
        int in = open(argv[i], O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (in < 0 || fstat(in, &st) != 0) die("cannot read", argv[i]);
        size_t size = (size_t)st.st_size;
        if (size > cap) { cap = size; buf = realloc(buf, cap); }
        size_t got = 0;
        while (got < size) {
            ssize_t n = read(in, buf + got, size - got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) die("cannot read", argv[i]);
            got += (size_t)n;
        }
        close(in);
        if (size < 50 || memcmp(buf, "CHORUS-E", 8) != 0) {
            fprintf(stderr, "import_ref: %s is not an envelope\n", argv[i]);
            continue;
        }
        char name[65], temp[64];
        sodium_bin2hex(name, sizeof name, buf + 9, 32);
        unsigned char r[16];
        randombytes_buf(r, sizeof r);
        sodium_bin2hex(temp, 33, r, sizeof r);
        strcat(temp, ".tmp");
        int out = openat(tmp, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0) die("cannot create", temp);
        size_t done = 0;
        while (done < size) {
            ssize_t n = write(out, buf + done, size - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) die("cannot write", temp);
            done += (size_t)n;
        }
        struct timespec zero[2] = {{0, 0}, {0, 0}};
        if (futimens(out, zero) != 0) die("cannot set the times of", temp);
        if (fsync(out) != 0) die("cannot flush", temp);
        close(out);
        if (linkat(tmp, temp, inbox, name, 0) == 0) {
            imported++;
        } else if (errno == EEXIST) {
            duplicates++;
        } else {
            die("cannot link", name);
        }
        if (unlinkat(tmp, temp, 0) != 0) die("cannot unlink", temp);
        if (fsync(inbox) != 0) die("cannot flush", "inbox");
    }
    fprintf(stderr, "import_ref: imported %d, %d duplicates\n", imported, duplicates);
    free(buf);
    return 0;
}
