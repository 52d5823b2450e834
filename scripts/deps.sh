#!/bin/sh
# deps.sh: make sure the Debian packages trailkeep needs are installed.
# As root: `apt-get update` once, then `apt-get install -y` the missing ones.
# Otherwise: print the exact command and stop.  Does nothing when all present.
set -u
PKGS="build-essential pkg-config libcurl4-openssl-dev libssl-dev libjansson-dev libinih-dev
libexpat1-dev zlib1g-dev libcmocka-dev python3 python3-botocore python3-cryptography awscli python3-sqlglot
prometheus chromium python3-kubernetes python3-yaml systemd groff-base man-db bash-completion zsh
wrk"
missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || { echo "deps: apt-get update failed" >&2; exit 1; }
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing || { echo "deps: apt-get install failed" >&2; exit 1; }
	exit 0
fi
echo "deps: missing Debian packages:$missing" >&2
echo "deps: run this, then 'make' again:" >&2
echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
exit 1
