/*
 * privs.c - giving up root after the capture device is open.
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

/*
 * After the device is open, a root process gives up root: to -Z USER, or by
 * default to "nobody"; as[] gets the user's name ("" when nothing changed).
 * Every output named on the command line (--json, --report, -w) is opened
 * before this, so each keeps working where only root may write, and a path
 * that cannot be written fails before the first packet is read.  Only
 * --dump-streams creates files later, as the user we become: a directory
 * smtpscope made itself (mydir) is given to that user first, and the caller
 * proves the directory writable right after the drop.
 */
int
cli_drop_privileges(const char *user, const char *mydir, char *as, size_t aslen)
{
	struct passwd *pw;

	as[0] = '\0';
	if (getuid() != 0 && geteuid() != 0)
		return 0;
	if (user != NULL && strcmp(user, "root") == 0)
		return 0;
	if ((pw = getpwnam(user != NULL ? user : "nobody")) == NULL) {
		if (user == NULL)
			return 0;	/* no such default user: keep going as root */
		cli_warn("-Z: no such user '%s'", user);
		return -1;
	}
	if (mydir != NULL && chown(mydir, pw->pw_uid, pw->pw_gid) == -1) {
		cli_warn("--dump-streams: cannot give '%s' to '%s': %s", mydir, pw->pw_name,
		    strerror(errno));
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		cli_warn("cannot drop privileges to '%s': %s", pw->pw_name, strerror(errno));
		return -1;
	}
	strlcpy(as, pw->pw_name, aslen);
	return 0;
}
