/* A process whose /proc/PID/environ is 100 MB: PR_SET_MM_MAP points env_start..env_end at a heap buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <linux/prctl.h>
int main(int argc, char **argv) {
  size_t n = 100u * 1024 * 1024, chunk = 65536;
  char *b = malloc(n);
  if (!b) return 2;
  memset(b, 'a', n);
  const char *first = "XDG_RUNTIME_DIR=/run/user/1000";
  memcpy(b, first, strlen(first) + 1);
  for (size_t off = chunk, i = 0; off + chunk <= n; off += chunk, i++) {
    int k = snprintf(b + off, 32, "BIG%zu=", i);
    b[off + k] = 'a';
    b[off + chunk - 1] = '\0';
  }
  /* Fields 26-28 and 45-51 of /proc/self/stat: code, stack, data, brk, args, env. */
  FILE *f = fopen("/proc/self/stat", "r");
  char buf[4096]; size_t len = fread(buf, 1, sizeof buf - 1, f); buf[len] = 0; fclose(f);
  char *p = strrchr(buf, ')') + 2;
  unsigned long v[64]; int i = 3;
  for (char *tok = strtok(p, " "); tok && i < 64; tok = strtok(NULL, " ")) v[i++] = strtoul(tok, NULL, 10);
  struct prctl_mm_map m = {0};
  m.start_code = v[26]; m.end_code = v[27]; m.start_stack = v[28];
  m.start_data = v[45]; m.end_data = v[46]; m.start_brk = v[47];
  m.arg_start = v[48]; m.arg_end = v[49];
  m.env_start = (unsigned long)b; m.env_end = (unsigned long)(b + n);
  m.brk = (unsigned long)sbrk(0);
  m.exe_fd = -1;
  if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&m, sizeof m, 0) != 0) { perror("prctl PR_SET_MM_MAP"); return 3; }
  if (argc > 1 && (chroot(argv[1]) != 0 || chdir("/") != 0)) { perror("chroot"); return 4; }
  if (setgid(1000) != 0 || setuid(1000) != 0) { perror("setuid"); return 5; }
  puts("ready"); fflush(stdout);
  for (;;) pause();
}
