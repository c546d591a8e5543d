"""The README's Python, C++ and C examples, taken from README.md as printed: the Python one runs in
the source tree (it reads the bundled model), the C++ and C ones are compiled against the build's
headers and shared library and run. Environment: as test_ftc.py, and FTC_CC, FTC_CXX (compilers),
FTC_SHARED_LIB (libftc.so of the build)."""
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import unittest

SOURCE = pathlib.Path(os.environ.get("FTC_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
README = (SOURCE / "README.md").read_text()


def example(section, lang):
    """The first ```lang block under the heading '## section'."""
    m = re.search(r"^## " + re.escape(section) + r"\n(.*?)(?=^## )", README, re.S | re.M)
    assert m, "README.md has no section " + section
    block = re.search(r"^```" + re.escape(lang) + r"\n(.*?)^```", m.group(1), re.S | re.M)
    assert block, "section %s has no %s block" % (section, lang)
    return block.group(1)


class ReadmeExamples(unittest.TestCase):
    def test_python(self):
        code = example("Python", "python")
        self.assertEqual(len(code.strip().splitlines()), 6)  # an import and five lines
        r = subprocess.run([sys.executable, "-c", code], cwd=SOURCE, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.fullmatch(r"(\d+) bytes, max error ([0-9.e-]+)\n", r.stdout)
        self.assertTrue(m, r.stdout)
        # 4-bit per channel on values in [0, 1): about half a byte per element, error ≤ step / 2.
        self.assertLess(int(m.group(1)), 64 * 14 * 14)
        self.assertLessEqual(float(m.group(2)), 0.5 / 15 + 1e-6)

    def compile_and_run(self, section, lang, compiler, flags):
        lib = os.environ["FTC_SHARED_LIB"]
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "example." + lang)
            pathlib.Path(src).write_text(example(section, lang))
            exe = os.path.join(d, "example")
            c = subprocess.run([compiler] + flags + ["-Wall", "-Werror", "-I", str(SOURCE / "include"), src, lib,
                                "-Wl,-rpath," + os.path.dirname(lib), "-o", exe], capture_output=True, text=True)
            self.assertEqual(c.returncode, 0, c.stderr)
            r = subprocess.run([exe], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout

    def test_cpp(self):
        out = self.compile_and_run("C++", "cpp", os.environ["FTC_CXX"], ["-std=c++20"])
        self.assertRegex(out, r"^\d+ bytes, first value 0.5\n$")

    def test_c(self):
        out = self.compile_and_run("C", "c", os.environ["FTC_CC"], ["-std=c11"])
        self.assertRegex(out, r"^\d+ bytes, tensor 'features' of rank 4\n$")


if __name__ == "__main__":
    unittest.main()
