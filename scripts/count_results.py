"""Adds up pytest (JUnit XML) and testthat (counts files) results into one final line:
`tests: N passed, N failed, N skipped`. Exits 1 when anything failed or nothing ran."""

import pathlib
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0
results = pathlib.Path(sys.argv[1])
for xml in sorted(results.glob("py-*.xml")):
    for suite in ET.parse(xml).getroot().iter("testsuite"):
        n, f, e, s = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
        passed += n - f - e - s
        failed += f + e
        skipped += s
for counts in sorted(results.glob("r-*.counts")):
    p, f, s = (int(v) for v in counts.read_text().split())
    passed, failed, skipped = passed + p, failed + f, skipped + s
expected_r = 1  # the R suite must have run at least once
if len(list(results.glob("r-*.counts"))) < expected_r or not list(results.glob("py-*.xml")):
    print("a test runner produced no results")
    failed += 1
line = f"tests: {passed} passed, {failed} failed"
print(line + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed or passed == 0 else 0)
