#!/usr/bin/env python3
"""Checks bulwark's Conan recipes and vcpkg manifest without Conan or vcpkg installed.

Run by ctest (consumer.recipes, through check_recipes.cmake):

    check_recipes.py --root <checkout> --version <CMake's PROJECT_VERSION> --work <scratch dir>

conanfile.py and test_package/conanfile.py are parsed with `ast` (syntax and the class
attributes, read as literals), then imported against a stand-in `conan` package that offers
only the Conan 2 names listed in CONAN_API (so a misspelt import fails here as it would under
Conan) and records what the recipe's methods call. Each method then runs:

  set_version   reads version.hpp and yields PROJECT_VERSION (and really reads the file: a
                copy with other numbers yields those)
  validate      calls check_min_cppstd(self, 20)
  package_id    calls self.info.clear()
  package       copies every file under include/ and LICENSE into a scratch package folder
  package_info  no bin or lib dirs, CMake names bulwark / bulwark::bulwark, pthread on Linux

ports/bulwark/vcpkg.json is parsed with `json`. Exit status 0 when everything holds.
"""

import argparse
import ast
import fnmatch
import importlib.util
import json
import os
import shutil
import sys
import types

# The parts of the Conan 2 API the recipes may import. The stand-ins are below.
CONAN_API = {
    "conan": {"ConanFile", "conan_version"},
    "conan.errors": {"ConanException", "ConanInvalidConfiguration"},
    "conan.tools": set(),
    "conan.tools.build": {"check_min_cppstd", "check_max_cppstd", "valid_min_cppstd",
                          "can_run", "cross_building", "build_jobs"},
    "conan.tools.files": {"copy", "load", "save", "get", "rm", "rmdir", "mkdir",
                          "replace_in_file", "apply_conandata_patches",
                          "export_conandata_patches"},
    "conan.tools.layout": {"basic_layout"},
    "conan.tools.cmake": {"CMake", "CMakeDeps", "CMakeToolchain", "cmake_layout"},
    "conan.tools.scm": {"Version"},
}

EXPECTED_EXPORTS = {"include/*", "cmake/*", "CMakeLists.txt", "LICENSE"}


class Failures:
    def __init__(self):
        self.messages = []

    def check(self, ok, message):
        if not ok:
            self.messages.append(message)
        return ok


# --- stand-in conan package ---------------------------------------------------------------------

class ConanException(Exception):
    pass


class ConanInvalidConfiguration(ConanException):
    pass


class Recorder:
    """Every call a recipe makes into the stand-in API, as (name, args, kwargs)."""

    def __init__(self):
        self.calls = []
        self.can_run = True

    def clear(self):
        self.calls = []

    def called(self, name):
        return [(a, k) for n, a, k in self.calls if n == name]

    def function(self, name, result=None):
        def stub(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return result(*args, **kwargs) if callable(result) else result
        stub.__name__ = name
        return stub


RECORDER = Recorder()


def _load(conanfile, path, encoding="utf-8"):
    with open(path, encoding=encoding) as f:
        return f.read()


def _copy(conanfile, pattern, src, dst, keep_path=True, excludes=None, ignore_case=True,
          overwrite_equal=False):
    """conan.tools.files.copy: fnmatch on paths relative to src, recursive."""
    copied = []
    for folder, _, files in os.walk(src):
        for name in files:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, src).replace(os.sep, "/")
            if not fnmatch.fnmatch(relative, pattern):
                continue
            if excludes and any(fnmatch.fnmatch(relative, e) for e in excludes):
                continue
            target = os.path.join(dst, relative if keep_path else name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(path, target)
            copied.append(target)
    return copied


class _CMake:
    def __init__(self, conanfile, *args, **kwargs):
        RECORDER.calls.append(("CMake", (conanfile,) + args, kwargs))

    def __getattr__(self, method):
        return RECORDER.function("CMake." + method)


class _Generator:
    def __init__(self, conanfile, *args, **kwargs):
        RECORDER.calls.append((type(self).__name__, (conanfile,) + args, kwargs))

    def generate(self):
        RECORDER.calls.append((type(self).__name__ + ".generate", (), {}))


class _Options:
    """self.options as Conan 2 gives it: attributes and get_safe, from default_options."""

    def __init__(self, values):
        self.__dict__.update(values)

    def get_safe(self, name, default=None):
        return self.__dict__.get(name, default)


class _ConanFile:
    """The attributes a recipe may rely on; the checks fill in the rest per method."""

    def __init__(self):
        self.options = _Options(dict(type(self).default_options or {}))

    name = None
    version = None
    user = None
    channel = None
    settings = None
    options = {}
    default_options = {}

    def run(self, command, *args, **kwargs):
        RECORDER.calls.append(("run", (command,) + args, kwargs))

    def requires(self, reference, **kwargs):
        RECORDER.calls.append(("requires", (reference,), kwargs))

    def tool_requires(self, reference, **kwargs):
        RECORDER.calls.append(("tool_requires", (reference,), kwargs))


def install_stand_in_conan():
    implementations = {
        "ConanFile": _ConanFile,
        "conan_version": "2.0.0",
        "ConanException": ConanException,
        "ConanInvalidConfiguration": ConanInvalidConfiguration,
        "load": RECORDER.function("load", _load),
        "copy": RECORDER.function("copy", _copy),
        "can_run": RECORDER.function("can_run", lambda *a, **k: RECORDER.can_run),
        "CMake": _CMake,
        "CMakeDeps": type("CMakeDeps", (_Generator,), {}),
        "CMakeToolchain": type("CMakeToolchain", (_Generator,), {}),
    }
    for module_name, names in CONAN_API.items():
        module = types.ModuleType(module_name)
        module.__path__ = []  # a package, so that submodules import
        for name in names:
            setattr(module, name, implementations.get(name) or RECORDER.function(name))
        sys.modules[module_name] = module
    for module_name in CONAN_API:
        parent, _, child = module_name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, sys.modules[module_name])


def import_recipe(path, failures):
    """Imports a recipe against the stand-in conan; returns its ConanFile subclass or None."""
    spec = importlib.util.spec_from_file_location(
        "recipe_" + os.path.basename(os.path.dirname(path)).replace("-", "_"), path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError as error:
        failures.check(False, "{}: {} (not in the Conan 2 API this check knows; see "
                              "CONAN_API in check_recipes.py)".format(path, error))
        return None
    classes = [c for c in vars(module).values()
               if isinstance(c, type) and issubclass(c, _ConanFile) and c is not _ConanFile]
    if not failures.check(len(classes) == 1,
                          "{}: expected one ConanFile subclass, found {}".format(path, classes)):
        return None
    return classes[0]


# --- static (ast) view of a recipe ------------------------------------------------------------

def recipe_class_ast(path, failures):
    with open(path, encoding="utf-8") as f:
        source = f.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        failures.check(False, "{}: does not parse: {}".format(path, error))
        return None
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)
               and any(isinstance(b, ast.Name) and b.id == "ConanFile" for b in node.bases)]
    if not failures.check(len(classes) == 1,
                          "{}: expected one class deriving from ConanFile".format(path)):
        return None
    return classes[0]


def class_literals(node):
    """Class-level `name = <literal>` assignments."""
    values = {}
    for statement in node.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name):
            try:
                values[statement.targets[0].id] = ast.literal_eval(statement.value)
            except ValueError:
                pass
    return values


def methods(node):
    return {s.name for s in node.body if isinstance(s, ast.FunctionDef)}


def as_set(value):
    return {value} if isinstance(value, str) else set(value or ())


# --- the checks ----------------------------------------------------------------------------------

class Settings:
    def __init__(self, os_name):
        self.os = os_name
        self.arch = "x86_64"
        self.compiler = types.SimpleNamespace(cppstd="20", version="12", get_safe=lambda k: None)
        self.build_type = "Release"

    def get_safe(self, key, default=None):
        value = self
        for part in key.split("."):
            value = getattr(value, part, None)
            if value is None:
                return default
        return value


class CppInfo:
    def __init__(self):
        self.bindirs = ["bin"]
        self.libdirs = ["lib"]
        self.includedirs = ["include"]
        self.system_libs = []
        self.properties = {}

    def set_property(self, name, value, *args, **kwargs):
        self.properties[name] = value


def tree(folder):
    found = set()
    for parent, _, files in os.walk(folder):
        for name in files:
            found.add(os.path.relpath(os.path.join(parent, name), folder).replace(os.sep, "/"))
    return found


def check_conanfile(root, version, work, failures):
    path = os.path.join(root, "conanfile.py")
    node = recipe_class_ast(path, failures)
    if node is None:
        return
    literals = class_literals(node)
    expected = {"name": "bulwark", "license": "MIT", "package_type": "header-library",
                "no_copy_source": True}
    for key, value in expected.items():
        failures.check(literals.get(key) == value, "conanfile.py: {} is {!r}, expected {!r}".format(
            key, literals.get(key), value))
    for key in ("description", "url", "topics"):
        failures.check(bool(literals.get(key)), "conanfile.py: no {}".format(key))
    failures.check("version" not in literals,
                   "conanfile.py: version is hard-coded; set_version() must read version.hpp")
    failures.check(as_set(literals.get("exports_sources")) == EXPECTED_EXPORTS,
                   "conanfile.py: exports_sources is {!r}, expected {}".format(
                       literals.get("exports_sources"), sorted(EXPECTED_EXPORTS)))
    for pattern in EXPECTED_EXPORTS:
        failures.check(os.path.exists(os.path.join(root, pattern.rstrip("/*"))),
                       "conanfile.py exports {} but the checkout has none".format(pattern))
    needed = {"set_version", "layout", "validate", "package_id", "package", "package_info"}
    missing = needed - methods(node)
    failures.check(not missing, "conanfile.py: missing methods {}".format(sorted(missing)))
    if missing:
        return

    recipe_class = import_recipe(path, failures)
    if recipe_class is None:
        return

    # set_version: the checkout's version.hpp gives CMake's version...
    recipe = recipe_class()
    recipe.recipe_folder = root
    RECORDER.clear()
    recipe.set_version()
    failures.check(str(recipe.version) == version,
                   "conanfile.py: set_version() gives {!r}, CMake says {!r}".format(
                       recipe.version, version))
    # ...and it is read from the file, not written in the recipe.
    other_root = os.path.join(work, "other-version")
    os.makedirs(os.path.join(other_root, "include", "bulwark"))
    with open(os.path.join(other_root, "include", "bulwark", "version.hpp"), "w",
              encoding="utf-8") as f:
        f.write("#pragma once\n#define BULWARK_VERSION_MAJOR 17\n"
                "#define BULWARK_VERSION_MINOR 4\n#define BULWARK_VERSION_PATCH 23\n")
    other = recipe_class()
    other.recipe_folder = other_root
    other.set_version()
    failures.check(str(other.version) == "17.4.23",
                   "conanfile.py: set_version() on a version.hpp saying 17.4.23 gives {!r}".format(
                       other.version))
    # A --version that disagrees with the headers is refused.
    conflicting = recipe_class()
    conflicting.recipe_folder = root
    conflicting.version = "99.0.0"
    try:
        conflicting.set_version()
        failures.check(False, "conanfile.py: set_version() accepted --version 99.0.0")
    except ConanException:
        pass

    # layout
    RECORDER.clear()
    recipe.settings = Settings("Linux")
    recipe.layout()
    failures.check(RECORDER.called("basic_layout") or RECORDER.called("cmake_layout"),
                   "conanfile.py: layout() calls neither basic_layout nor cmake_layout")

    # validate
    RECORDER.clear()
    recipe.validate()
    cppstd_calls = RECORDER.called("check_min_cppstd")
    failures.check(any(len(a) >= 2 and a[0] is recipe and str(a[1]) == "20"
                       for a, _ in cppstd_calls),
                   "conanfile.py: validate() does not call check_min_cppstd(self, 20); "
                   "calls: {}".format(cppstd_calls))

    # package_id
    cleared = []
    recipe.info = types.SimpleNamespace(clear=lambda: cleared.append(True),
                                        settings=Settings("Linux"))
    recipe.package_id()
    failures.check(cleared, "conanfile.py: package_id() does not call self.info.clear()")

    # package: every file under include/, and the license
    package_folder = os.path.join(work, "package")
    os.makedirs(package_folder)
    recipe.source_folder = root
    recipe.export_sources_folder = root
    recipe.build_folder = os.path.join(work, "build")
    recipe.package_folder = package_folder
    recipe.package()
    packaged = tree(package_folder)
    headers = {"include/" + p for p in tree(os.path.join(root, "include"))}
    missing = headers - packaged
    failures.check(not missing, "conanfile.py: package() leaves out {}".format(sorted(missing)))
    failures.check(any(p.startswith("licenses/") and p.endswith("LICENSE") for p in packaged),
                   "conanfile.py: package() does not copy LICENSE into licenses/")
    failures.check(packaged <= headers | {"licenses/LICENSE"},
                   "conanfile.py: package() adds {}".format(
                       sorted(packaged - headers - {"licenses/LICENSE"})))

    # package_info
    for os_name, system_libs in (("Linux", ["pthread"]), ("FreeBSD", ["pthread"]),
                                 ("Windows", []), ("Macos", [])):
        recipe.settings = Settings(os_name)
        recipe.cpp_info = CppInfo()
        recipe.package_info()
        info = recipe.cpp_info
        failures.check(info.bindirs == [] and info.libdirs == [],
                       "conanfile.py: package_info() leaves bindirs={} libdirs={}, expected "
                       "none".format(info.bindirs, info.libdirs))
        failures.check(info.properties.get("cmake_file_name") == "bulwark" and
                       info.properties.get("cmake_target_name") == "bulwark::bulwark",
                       "conanfile.py: package_info() CMake names are {}".format(info.properties))
        failures.check(list(info.system_libs) == system_libs,
                       "conanfile.py: package_info() on {} gives system_libs {}, expected "
                       "{}".format(os_name, info.system_libs, system_libs))
    print("conanfile.py: {} {}, {} packaged files".format(
        literals.get("name"), recipe.version, len(packaged)))


def check_test_package(root, failures):
    folder = os.path.join(root, "test_package")
    path = os.path.join(folder, "conanfile.py")
    node = recipe_class_ast(path, failures)
    if node is None:
        return
    literals = class_literals(node)
    failures.check({"CMakeDeps", "CMakeToolchain"} <= as_set(literals.get("generators")),
                   "test_package/conanfile.py: generators {!r} lack CMakeDeps or "
                   "CMakeToolchain".format(literals.get("generators")))
    needed = {"requirements", "layout", "build", "test"}
    missing = needed - methods(node)
    failures.check(not missing,
                   "test_package/conanfile.py: missing methods {}".format(sorted(missing)))
    if missing:
        return
    recipe_class = import_recipe(path, failures)
    if recipe_class is None:
        return
    recipe = recipe_class()
    recipe.tested_reference_str = "bulwark/0.0.0-tested"
    recipe.settings = Settings("Linux")
    recipe.recipe_folder = folder
    recipe.cpp = types.SimpleNamespace(build=types.SimpleNamespace(bindir="Release"))

    RECORDER.clear()
    recipe.requirements()
    failures.check([a for a, _ in RECORDER.called("requires")] == [(recipe.tested_reference_str,)],
                   "test_package/conanfile.py: requirements() must require "
                   "self.tested_reference_str, and only that")
    RECORDER.clear()
    recipe.layout()
    failures.check(RECORDER.called("cmake_layout"),
                   "test_package/conanfile.py: layout() does not call cmake_layout")
    RECORDER.clear()
    recipe.build()
    failures.check(RECORDER.called("CMake.configure") and RECORDER.called("CMake.build"),
                   "test_package/conanfile.py: build() does not configure and build with CMake")
    for can_run in (True, False):
        RECORDER.clear()
        RECORDER.can_run = can_run
        recipe.test()
        runs = RECORDER.called("run")
        if can_run:
            failures.check(len(runs) == 1 and "test_package" in str(runs[0][0][0]),
                           "test_package/conanfile.py: test() does not run test_package "
                           "(runs: {})".format(runs))
        else:
            failures.check(not runs, "test_package/conanfile.py: test() runs the program "
                                     "although can_run() is false")
    RECORDER.can_run = True

    with open(os.path.join(folder, "CMakeLists.txt"), encoding="utf-8") as f:
        cmake = f.read()
    for text in ("find_package(bulwark CONFIG REQUIRED)", "bulwark::bulwark"):
        failures.check(text in cmake, "test_package/CMakeLists.txt lacks {}".format(text))
    failures.check("add_subdirectory" not in cmake and "FetchContent" not in cmake,
                   "test_package/CMakeLists.txt must consume the installed package only")
    print("test_package/conanfile.py: requires the tested reference, builds with CMake, runs")


def check_vcpkg_json(root, version, failures):
    path = os.path.join(root, "ports", "bulwark", "vcpkg.json")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as error:
        failures.check(False, "{}: {}".format(path, error))
        return
    failures.check(manifest.get("name") == "bulwark",
                   "vcpkg.json: name is {!r}".format(manifest.get("name")))
    version_keys = [k for k in ("version", "version-semver", "version-date", "version-string")
                    if k in manifest]
    failures.check(len(version_keys) == 1,
                   "vcpkg.json: expected one version field, found {}".format(version_keys))
    if version_keys:
        failures.check(manifest[version_keys[0]] == version,
                       "vcpkg.json: {} is {!r}, CMake says {!r}".format(
                           version_keys[0], manifest[version_keys[0]], version))
    failures.check(manifest.get("license") == "MIT",
                   "vcpkg.json: license is {!r}".format(manifest.get("license")))
    for key in ("description", "homepage"):
        failures.check(bool(manifest.get(key)), "vcpkg.json: no {}".format(key))
    dependencies = {d.get("name"): d for d in manifest.get("dependencies", [])
                    if isinstance(d, dict)}
    for name in ("vcpkg-cmake", "vcpkg-cmake-config"):
        failures.check(dependencies.get(name, {}).get("host") is True,
                       "vcpkg.json: {} must be a host dependency".format(name))
    print("vcpkg.json: bulwark {}".format(manifest.get(version_keys[0]) if version_keys else "?"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="the bulwark checkout")
    parser.add_argument("--version", required=True, help="CMake's PROJECT_VERSION")
    parser.add_argument("--work", required=True, help="scratch directory (wiped)")
    args = parser.parse_args()

    root = os.path.abspath(args.root)
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    sys.dont_write_bytecode = True  # importing the recipes must leave the checkout untouched
    install_stand_in_conan()

    failures = Failures()
    check_conanfile(root, args.version, os.path.abspath(args.work), failures)
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
