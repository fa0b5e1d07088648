#!/bin/sh
# Prints the path of a chromium binary, installing Debian's chromium package
# with apt-get when it is missing. Exits 3, saying why on stderr, only when
# chromium cannot be installed (not root, no apt-get, or the install
# failed): the browser test then skips, and says so.
set -u

find_chromium() {
	for b in chromium chromium-browser; do
		if command -v "$b"; then
			return 0
		fi
	done
	return 1
}

find_chromium && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "chromium is not installed, and installing it needs root and apt-get" >&2
	exit 3
fi
echo "e2e: installing chromium with apt-get (once per machine)..." >&2
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2; then
	echo "apt-get install chromium failed" >&2
	exit 3
fi
find_chromium || { echo "chromium was installed but is not on PATH" >&2; exit 3; }
