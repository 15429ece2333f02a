#!/usr/bin/env python3
"""Checks what can be checked of bulwark's Conan recipes and vcpkg manifest without Conan or vcpkg.

Run by ctest (consumer.recipes, through check_recipes.cmake):

    check_recipes.py --root <checkout> --version <CMake's PROJECT_VERSION> --work <scratch dir>

What it checks, by reading the files (Python's `ast` and `json`; nothing is imported or run):
  - conanfile.py and test_package/conanfile.py are valid Python with one ConanFile class each;
  - the recipe's name, package type, exported files (the set a release archive holds, which
    consumer.fetch_content_archive builds from) and its with_<add-on> options (redis, asio,
    config, prometheus), each off by default and naming its dependency;
  - the version: version.hpp's BULWARK_VERSION_* (which the recipe's set_version() reads), CMake's
    project(VERSION) and vcpkg.json's version are the same;
  - validate() asks for C++20 (check_min_cppstd(self, 20)), and README's Conan commands pass
    `-s compiler.cppstd=20`;
  - test_package's test() runs test_package and, for each with_<add-on>, test_package_<add-on>;
  - vcpkg.json: name, version, license, host dependencies, each add-on feature's dependency,
    and the portfile turning each feature into its BULWARK_<ADD-ON> option.

What it cannot check: that Conan or vcpkg accept the recipes, resolve hiredis, honour the
settings and profiles a user has (a detected profile's compiler.cppstd=gnu17 is refused by
validate(), which is why README passes the setting), or lay the package out as CMake's install
does. Those need the tools themselves, which Debian does not package and CI therefore lacks.
"""

import argparse
import ast
import json
import os
import re
import sys


class Failures:
    def __init__(self):
        self.messages = []

    def check(self, ok, message):
        if not ok:
            self.messages.append(message)
        return ok


def recipe_class(path, failures):
    """The one class deriving from ConanFile in the file at path, as an ast node, or None."""
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError) as error:
        failures.check(False, "{}: {}".format(path, error))
        return None
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)
               and any(getattr(b, "id", None) == "ConanFile" for b in n.bases)]
    failures.check(len(classes) == 1, "{}: expected one ConanFile class".format(path))
    return classes[0] if len(classes) == 1 else None


def literals(node):
    """The class attributes whose values are literals."""
    values = {}
    for statement in node.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                try:
                    values[target.id] = ast.literal_eval(statement.value)
                except ValueError:
                    pass
    return values


def method_source(node, name, path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for statement in node.body:
        if isinstance(statement, ast.FunctionDef) and statement.name == name:
            return ast.get_source_segment(text, statement) or ""
    return ""


def check_conanfile(root, version, failures):
    path = os.path.join(root, "conanfile.py")
    node = recipe_class(path, failures)
    if node is None:
        return
    values = literals(node)
    failures.check(values.get("name") == "bulwark", "conanfile.py: name is not bulwark")
    failures.check(values.get("package_type") == "header-library",
                   "conanfile.py: package_type is not header-library")
    exports = set(values.get("exports_sources") or ())
    failures.check(exports == {"include/*", "cmake/*", "CMakeLists.txt", "LICENSE"},
                   "conanfile.py: exports_sources {} is not the release archive's set".format(
                       sorted(exports)))
    addons = ("redis", "asio", "config", "prometheus")
    failures.check(values.get("default_options") == {"with_" + a: False for a in addons},
                   "conanfile.py: default_options {!r}: every add-on off by default".format(
                       values.get("default_options")))
    failures.check(values.get("options") == {"with_" + a: [True, False] for a in addons},
                   "conanfile.py: options {!r}".format(values.get("options")))
    table = values.get("_addons") or {}
    for addon, reference, target in (("redis", "hiredis/", "hiredis::hiredis"),
                                     ("asio", "asio/", "asio::asio"),
                                     ("config", "nlohmann_json/", "nlohmann_json::nlohmann_json"),
                                     ("prometheus", "prometheus-cpp/", "prometheus-cpp::")):
        entry = table.get("with_" + addon)
        failures.check(entry is not None and entry[0] == addon and entry[1].startswith(reference)
                       and entry[2].startswith(target),
                       "conanfile.py: _addons['with_{}'] is {!r}".format(addon, entry))
    validate = method_source(node, "validate", path)
    failures.check(re.search(r"check_min_cppstd\(\s*self\s*,\s*20\s*\)", validate),
                   "conanfile.py: validate() does not call check_min_cppstd(self, 20)")
    failures.check("version.hpp" in method_source(node, "set_version", path),
                   "conanfile.py: set_version() does not read version.hpp")
    with open(os.path.join(root, "include", "bulwark", "version.hpp"), encoding="utf-8") as f:
        parts = dict(re.findall(r"#\s*define\s+BULWARK_VERSION_(MAJOR|MINOR|PATCH)\s+(\d+)",
                                f.read()))
    header = "{}.{}.{}".format(parts.get("MAJOR"), parts.get("MINOR"), parts.get("PATCH"))
    failures.check(header == version,
                   "version.hpp says {}, CMake's project(VERSION) {}".format(header, version))
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    for command in re.findall(r"^conan (?:create|install) .*$", readme, re.MULTILINE):
        failures.check("compiler.cppstd=20" in command,
                       "README: `{}` lacks -s compiler.cppstd=20, which a detected g++ 12 "
                       "profile (gnu17) needs".format(command))
    print("conanfile.py: bulwark {}".format(header))


def check_test_package(root, failures):
    path = os.path.join(root, "test_package", "conanfile.py")
    node = recipe_class(path, failures)
    if node is None:
        return
    test = method_source(node, "test", path)
    failures.check('"test_package"' in test, "test_package: test() does not run test_package")
    failures.check('"test_package_"' in test and '"with_"' in test and all(
        '"{}"'.format(a) in test for a in ("redis", "asio", "config", "prometheus")),
                   "test_package: test() does not run test_package_<add-on> for each with_<add-on>")
    for addon in ("redis", "asio", "config", "prometheus"):
        failures.check(os.path.exists(os.path.join(root, "test_package",
                                                   "test_package_{}.cpp".format(addon))),
                       "test_package: test_package_{}.cpp is missing".format(addon))
    failures.check("tested_reference_str" in method_source(node, "requirements", path),
                   "test_package: requirements() does not require the tested reference")
    print("test_package/conanfile.py: runs test_package, and test_package_<add-on> with each add-on")


def check_vcpkg_json(root, version, failures):
    path = os.path.join(root, "ports", "bulwark", "vcpkg.json")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as error:
        failures.check(False, "{}: {}".format(path, error))
        return
    failures.check(manifest.get("name") == "bulwark", "vcpkg.json: name is not bulwark")
    failures.check(manifest.get("version") == version,
                   "vcpkg.json: version {!r}, CMake says {!r}".format(manifest.get("version"),
                                                                     version))
    failures.check(manifest.get("license") == "MIT", "vcpkg.json: license is not MIT")
    hosts = {d.get("name") for d in manifest.get("dependencies", [])
             if isinstance(d, dict) and d.get("host") is True}
    failures.check({"vcpkg-cmake", "vcpkg-cmake-config"} <= hosts,
                   "vcpkg.json: vcpkg-cmake and vcpkg-cmake-config must be host dependencies")
    features = manifest.get("features", {})
    for feature, dependency in (("redis", "hiredis"), ("asio", "asio"),
                                ("config", "nlohmann-json"), ("prometheus", "prometheus-cpp")):
        failures.check(dependency in features.get(feature, {}).get("dependencies", []),
                       "vcpkg.json: the {} feature does not depend on {}".format(feature,
                                                                               dependency))
    with open(os.path.join(root, "ports", "bulwark", "portfile.cmake"), encoding="utf-8") as f:
        portfile = f.read()
    for feature, option in (("redis", "BULWARK_REDIS"), ("asio", "BULWARK_ASIO"),
                            ("config", "BULWARK_CONFIG"), ("prometheus", "BULWARK_PROMETHEUS")):
        failures.check(re.search(r"^\s*{}\s+{}\s*\)?$".format(feature, option), portfile,
                                 re.MULTILINE),
                       "portfile.cmake: feature {} does not set {}".format(feature, option))
    print("vcpkg.json: bulwark {}".format(manifest.get("version")))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="the bulwark checkout")
    parser.add_argument("--version", required=True, help="CMake's PROJECT_VERSION")
    parser.add_argument("--work", required=True, help="scratch directory (unused)")
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    failures = Failures()
    check_conanfile(root, args.version, failures)
    check_test_package(root, failures)
    check_vcpkg_json(root, args.version, failures)
    for message in failures.messages:
        print("FAILED: " + message, file=sys.stderr)
    if failures.messages:
        return 1
    print("recipes agree on bulwark {}".format(args.version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
