// Package e2e holds black-box tests of a running `messina serve`: a
// browser smoke test of the web UI (smoke.mjs, playwright-core at the
// version package-lock.json pins, driving Debian's chromium, which
// install-chromium.sh installs with apt-get when it is missing). The test
// skips, saying why, only when chromium cannot be installed.
package e2e
