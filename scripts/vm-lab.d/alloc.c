/*
 * alloc: the VM lab's allocator (built once, statically, by scripts/vm-lab).
 *
 *   alloc [--mb N] [--rate MBPS] [--ready FILE] [--hold S [--then-free-to M]] [--thread]
 *
 * Allocates anonymous memory in 1 MiB chunks and writes to every page, so
 * each chunk is charged to the process's memory cgroup at once.
 *   --mb N       stop at N MiB, then hold it forever (default: grow until
 *                killed)
 *   --rate MBPS  at most MBPS MiB per second (default: as fast as it can)
 *   --ready FILE create FILE once N MiB are held (with --mb)
 *   --hold S     hold the N MiB for S seconds (fractions work), then exit 0
 *                instead of holding forever (with --mb)
 *   --then-free-to M
 *                after the hold, unmap all but M MiB (M < N; the kernel
 *                uncharges them at once), hold those S seconds more, then
 *                exit 0 (with --hold)
 *   --thread     allocate in a second thread while the main thread exits
 *                (pthread_exit): the thread-group leader is a zombie whose
 *                /proc status shows no memory, the process still grows
 *
 * Exit status: 3 when the kernel refuses memory (mmap fails) instead of
 * killing, 2 on a bad argument, 0 after --hold. Otherwise it never exits
 * by itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1UL << 20)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: alloc [--mb N] [--rate MBPS] [--ready FILE] [--hold S [--then-free-to M]] [--thread]\n");
	exit(2);
}

static long mb = -1;
static double rate;
static const char *ready;
static double hold = -1;
static long free_to = -1;
/* The chunks, to unmap some of them (--then-free-to); with --mb only. */
static char **chunks;

static void sleep_for(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *grow(void *unused)
{
	(void)unused;
	long page = sysconf(_SC_PAGESIZE);
	double start = now();
	for (long n = 0; mb < 0 || n < mb; n++) {
		char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			fprintf(stderr, "alloc: mmap after %ld MiB: %s\n", n,
				strerror(errno));
			exit(3);
		}
		if (chunks)
			chunks[n] = p;
		for (unsigned long off = 0; off < CHUNK; off += page)
			p[off] = 1;
		if (rate > 0) {
			/* Sleep until the (n+1)th MiB is due. */
			double due = start + (n + 1) / rate - now();
			if (due > 0) {
				struct timespec ts = { (time_t)due,
						       (long)((due - (time_t)due) * 1e9) };
				nanosleep(&ts, NULL);
			}
		}
	}
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			fprintf(stderr, "alloc: %s: %s\n", ready, strerror(errno));
			exit(2);
		}
		close(fd);
	}
	if (hold >= 0) {
		sleep_for(hold);
		if (free_to >= 0) {
			for (long n = free_to; n < mb; n++)
				munmap(chunks[n], CHUNK);
			sleep_for(hold);
		}
		exit(0);
	}
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	int thread = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--thread")) {
			thread = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--mb"))
			mb = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--rate"))
			rate = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--ready"))
			ready = argv[++i];
		else if (!strcmp(argv[i], "--hold"))
			hold = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--then-free-to"))
			free_to = strtol(argv[++i], NULL, 10);
		else
			usage();
	}
	if ((ready || hold >= 0) && mb < 0)
		usage();
	if (free_to >= 0 && (hold < 0 || free_to >= mb))
		usage();
	if (mb >= 0 && !(chunks = calloc(mb + 1, sizeof *chunks))) {
		fprintf(stderr, "alloc: calloc failed\n");
		return 2;
	}
	if (!thread)
		grow(NULL);
	pthread_t t;
	if (pthread_create(&t, NULL, grow, NULL)) {
		fprintf(stderr, "alloc: pthread_create failed\n");
		return 2;
	}
	pthread_exit(NULL);
}
