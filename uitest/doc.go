// Package uitest is make test-ui (ui_test.go, build tag ui): the Temporal
// Web UI, in Debian's Chromium driven headless by playwright-core
// (browser.mjs), shows each run's summary, a case's current details
// decrypted through the codec endpoint, and the described update handlers.
package uitest
