/* plan_write.c: write a plan to its directory (plan.h `plan_write`): the
 * files of a new plan in a temporary directory, renamed into place; an
 * existing directory is replaced only when it is provably trailkeep's own
 * (its plan.json in trailkeep's format lists every file in it), and only the
 * files that plan.json lists are ever removed (README "plan").  Split from
 * plan.c, which builds the plan.  Library code: no printing, no clock. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fileutil.h"
#include "plan.h"
#include "banned.h"

#define MAX_PLAN_FILE (64u << 20)

/* ---- writing ---- */

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int mkdirs(const char *root, const char *rel, struct errbuf *err)
{
	char *path = xasprintf("%s/%s", root, rel);
	char *p;
	int rc = 0;

	for (p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			rc = err_set(err, TK_EFAIL, "cannot create directory '%s': %s", path, strerror(errno));
			break;
		}
		*p = '/';
	}
	free(path);
	return rc;
}

static int write_file(const char *root, const struct plan_file *f, struct errbuf *err)
{
	char *path = xasprintf("%s/%s", root, f->path);
	char *text = NULL;
	int fd = -1, rc;

	if ((rc = mkdirs(root, f->path, err)) < 0)
		goto done;
	text = f->text ? xstrdup(f->text) : plan_dump(f->doc);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
	if (fd < 0 || fchmod(fd, 0644) < 0 || write_all(fd, text, strlen(text)) < 0) {
		rc = err_set(err, TK_EFAIL, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = err_set(err, TK_EFAIL, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	fd = -1;
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	free(text);
	free(path);
	return rc;
}

static int read_small(const char *path, struct buf *b)
{
	char chunk[8192];
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	ssize_t n;
	int rc = 0;

	if (fd < 0)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(b, chunk, (size_t)n) < 0) {
			rc = -1;
			break;
		}
	if (n < 0)
		rc = -1;
	close(fd);
	return rc;
}

/* Is the directory tree a the same as b (names, types, contents)? */
static bool same_tree(const char *a, const char *b)
{
	DIR *da = opendir(a), *db = NULL;
	struct dirent *e;
	size_t na = 0, nb = 0;
	bool same = true;

	if (!da)
		return false;
	db = opendir(b);
	if (!db) {
		closedir(da);
		return false;
	}
	while (same && (e = readdir(da))) {
		char *pa, *pb;
		struct stat sa, sb;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		na++;
		pa = xasprintf("%s/%s", a, e->d_name);
		pb = xasprintf("%s/%s", b, e->d_name);
		if (lstat(pa, &sa) < 0 || lstat(pb, &sb) < 0 ||
		    S_ISDIR(sa.st_mode) != S_ISDIR(sb.st_mode) || S_ISREG(sa.st_mode) != S_ISREG(sb.st_mode)) {
			same = false;
		} else if (S_ISDIR(sa.st_mode)) {
			same = same_tree(pa, pb);
		} else if (sa.st_size != sb.st_size) {
			same = false;
		} else {
			struct buf x, y;

			buf_init(&x, MAX_PLAN_FILE);
			buf_init(&y, MAX_PLAN_FILE);
			same = read_small(pa, &x) == 0 && read_small(pb, &y) == 0 && x.len == y.len &&
			       (x.len == 0 || !memcmp(x.data, y.data, x.len));
			buf_release(&x);
			buf_release(&y);
		}
		free(pa);
		free(pb);
	}
	while (same && (e = readdir(db)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			nb++;
	closedir(da);
	closedir(db);
	return same && na == nb;
}

static bool dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	if (!d)
		return true;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = false;
			break;
		}
	closedir(d);
	return empty;
}

/* ---- is an existing directory a plan this tool wrote? ---- */

/* The files a previous plan wrote (relative paths, plan.json first), taken
 * from its plan.json when that is trailkeep's own: a JSON object with
 * "format": 1, an "apply_order" array and a "files" array of relative
 * paths without "..".  NULL when it is not. */
static struct tk_strlist *previous_plan_files(const char *dir)
{
	char *path = xasprintf("%s/plan.json", dir);
	struct tk_strlist *l = NULL;
	struct buf b;
	struct stat sb;
	json_t *doc = NULL, *files, *f;
	size_t i;

	buf_init(&b, MAX_PLAN_FILE);
	if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || read_small(path, &b) < 0)
		goto done;
	doc = json_loadb(buf_cstr(&b), b.len, JSON_REJECT_DUPLICATES, NULL);
	files = json_object_get(doc, "files");
	if (!json_is_object(doc) || !json_is_integer(json_object_get(doc, "format")) ||
	    json_integer_value(json_object_get(doc, "format")) != 1 ||
	    !json_is_array(json_object_get(doc, "apply_order")) || !json_is_array(files) ||
	    !json_is_string(json_object_get(doc, "mode")))
		goto done;
	l = xcalloc(1, sizeof(*l));
	l->v = xcalloc(json_array_size(files) + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup("plan.json");
	json_array_foreach(files, i, f) {
		const char *s = json_string_value(f);

		if (!s || !*s || s[0] == '/' || strstr(s, "..") || strstr(s, "//") || s[strlen(s) - 1] == '/' ||
		    !strcmp(s, "plan.json")) {
			tk_strlist_release(l);
			free(l);
			l = NULL;
			goto done;
		}
		l->v[l->n++] = xstrdup(s);
	}
done:
	json_decref(doc);
	buf_release(&b);
	free(path);
	return l;
}

/* Is rel a file of the list, or a directory above one? */
static bool listed(const struct tk_strlist *l, const char *rel, bool is_dir)
{
	size_t i, n = strlen(rel);

	for (i = 0; i < l->n; i++) {
		if (!is_dir && !strcmp(l->v[i], rel))
			return true;
		if (is_dir && !strncmp(l->v[i], rel, n) && l->v[i][n] == '/')
			return true;
	}
	return false;
}

/* The first entry under root/rel that the plan did not write (a file not in
 * the list, a symlink, a FIFO, a directory leading to no listed file):
 * its relative path, or NULL when there is none. */
static char *foreign_entry(const char *root, const char *rel, const struct tk_strlist *l)
{
	char *path = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(path);
	struct dirent *e;
	char *bad = NULL;

	if (!d) {
		free(path);
		return xstrdup(*rel ? rel : ".");
	}
	while (!bad && (e = readdir(d))) {
		char *sub, *full;
		struct stat sb;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		sub = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		full = xasprintf("%s/%s", path, e->d_name);
		if (lstat(full, &sb) < 0)
			bad = xstrdup(sub);
		else if (S_ISDIR(sb.st_mode))
			bad = listed(l, sub, true) ? foreign_entry(root, sub, l) : xstrdup(sub);
		else if (!S_ISREG(sb.st_mode) || !listed(l, sub, false))
			bad = xstrdup(sub);
		free(full);
		free(sub);
	}
	closedir(d);
	free(path);
	return bad;
}

/* Remove from root exactly the files of the list and then the directories
 * they were in; anything else stays.  0 when root is gone afterwards. */
static int remove_listed(const char *root, const struct tk_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		char *p = xasprintf("%s/%s", root, l->v[i]);
		struct stat sb;

		if (lstat(p, &sb) == 0 && S_ISREG(sb.st_mode))
			unlink(p);
		free(p);
	}
	/* directories, deepest first: each file's parents, longest path first */
	for (i = 0; i < l->n; i++) {
		char *p = xasprintf("%s/%s", root, l->v[i]);
		char *slash;

		while ((slash = strrchr(p, '/')) && slash > p + strlen(root)) {
			*slash = '\0';
			rmdir(p);   /* fails (and stays) while not empty */
		}
		free(p);
	}
	for (i = 0; i < l->n; i++) {   /* a second pass for siblings emptied late */
		char *p = xasprintf("%s/%s", root, l->v[i]);
		char *slash;

		while ((slash = strrchr(p, '/')) && slash > p + strlen(root)) {
			*slash = '\0';
			rmdir(p);
		}
		free(p);
	}
	return rmdir(root);
}

static void plan_files(const struct plan *p, struct tk_strlist *l)
{
	size_t i;

	l->v = xcalloc(p->nfiles + 1, sizeof(*l->v));
	l->n = 0;
	for (i = 0; i < p->nfiles; i++)
		l->v[l->n++] = xstrdup(p->files[i].path);
}

int plan_write(const struct plan *p, const char *dir, bool *changed, struct errbuf *err)
{
	char *tmp = NULL, *dircopy = xstrdup(dir), *bad = NULL;
	struct tk_strlist *prev = NULL, ours = { NULL, 0, 0 };
	struct stat sb;
	bool exists = false, swapped = false;
	size_t n = strlen(dircopy), i;
	int rc;

	while (n > 1 && dircopy[n - 1] == '/')
		dircopy[--n] = '\0';
	plan_files(p, &ours);
	if (lstat(dircopy, &sb) == 0) {
		exists = true;
		if (!S_ISDIR(sb.st_mode)) {
			rc = err_set(err, TK_EUSAGE, "cannot write the plan to '%s': it exists and is not a directory%s", dir,
				     S_ISLNK(sb.st_mode) ? " (a symbolic link: plan replaces DIR itself, so it must be a "
				     "real directory)" : "");
			goto done;
		}
		if (!dir_empty(dircopy)) {
			prev = previous_plan_files(dircopy);
			if (!prev) {
				rc = err_set(err, TK_EUSAGE, "refusing to replace '%s': it is not empty and holds no plan.json "
					     "written by trailkeep plan (choose another -o DIR)", dir);
				goto done;
			}
			bad = foreign_entry(dircopy, "", prev);
			if (bad) {
				rc = err_set(err, TK_EUSAGE, "refusing to replace '%s': it holds '%s', which trailkeep plan "
					     "did not write (move it away or choose another -o DIR)", dir, bad);
				goto done;
			}
		}
	} else if (errno != ENOENT) {
		rc = err_set(err, TK_EFAIL, "cannot use '%s': %s", dir, strerror(errno));
		goto done;
	}
	tmp = xasprintf("%s.tmp-XXXXXX", dircopy);
	if (!exists && strchr(dircopy, '/') && (rc = mkdirs(dircopy[0] == '/' ? "" : ".", dircopy[0] == '/' ? dircopy + 1 : dircopy, err)) < 0) {
		free(tmp);
		tmp = NULL;
		goto done;
	}
	if (!mkdtemp(tmp)) {
		rc = err_set(err, TK_EFAIL, "cannot create a temporary directory next to '%s': %s", dir, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto done;
	}
	if (chmod(tmp, 0755) < 0) {
		rc = err_set(err, TK_EFAIL, "cannot set the mode of '%s': %s", tmp, strerror(errno));
		goto done;
	}
	for (i = 0; i < p->nfiles; i++)
		if ((rc = write_file(tmp, &p->files[i], err)) < 0)
			goto done;
	if (changed)
		*changed = !exists || !same_tree(tmp, dircopy);
	if (exists) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dircopy, RENAME_EXCHANGE) < 0) {
			rc = err_set(err, TK_EFAIL, "cannot replace '%s': %s", dir, strerror(errno));
			goto done;
		}
		swapped = true;
	} else if (rename(tmp, dircopy) < 0) {
		rc = err_set(err, TK_EFAIL, "cannot rename '%s' to '%s': %s", tmp, dir, strerror(errno));
		goto done;
	} else {
		free(tmp);   /* renamed: nothing left to remove */
		tmp = NULL;
	}
	rc = 0;
done:
	if (tmp && swapped) {
		/* tmp holds the previous plan (or an empty directory): remove only
		 * what that plan wrote; something else that appeared meanwhile stays */
		if (remove_listed(tmp, prev ? prev : &ours) < 0 && errno != ENOENT)
			rc = err_set(err, TK_EFAIL, "wrote the plan to '%s', but kept the previous one in '%s': it holds "
				     "files trailkeep plan did not write", dir, tmp);
	} else if (tmp) {
		remove_listed(tmp, &ours);   /* our own, unfinished files */
	}
	free(tmp);
	free(bad);
	free(dircopy);
	if (prev) {
		tk_strlist_release(prev);
		free(prev);
	}
	tk_strlist_release(&ours);
	return rc;
}
