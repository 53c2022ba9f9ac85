/*
 * measure OUTFILE COMMAND [ARG...]: runs COMMAND (fork, execvp) and writes to OUTFILE its wall time
 * in seconds and its peak resident set size in KiB (wait4's ru_maxrss), as "SECONDS KIB\n". Exits
 * with the command's status (128 + signal if it was killed).
 *
 * Benchmarks/timing.py starts every timed command through this small program rather than from
 * Python: Linux keeps, in a process's ru_maxrss, the peak of the memory it had before exec, so a
 * command started straight from Python would report at least Python's own size.
 *
 *   cc -O2 -o measure measure.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: measure OUTFILE COMMAND [ARG...]\n");
        return 64;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t pid = fork();
    if (pid < 0) { perror("measure: fork"); return 71; }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror("measure: exec");
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) < 0) { perror("measure: wait4"); return 71; }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    FILE *out = fopen(argv[1], "w");
    if (!out) { perror("measure: cannot write the result"); return 73; }
    fprintf(out, "%.9f %ld\n", seconds, usage.ru_maxrss);
    if (fclose(out) != 0) { perror("measure: cannot write the result"); return 74; }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
