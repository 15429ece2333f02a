import os
import re

from conan import ConanFile
from conan.errors import ConanException
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, load
from conan.tools.layout import basic_layout

required_conan_version = ">=2.0"


class BulwarkConan(ConanFile):
    """Conan 2 recipe for bulwark, a header-only C++20 library.

    `conan create .` exports the headers from this checkout, packages them (no build step) and
    builds test_package/ against the result. The version comes from include/bulwark/version.hpp,
    the same numbers CMake's project(VERSION) and the vcpkg port carry
    (tests/consumers/check_recipes.py checks that they agree).
    """

    name = "bulwark"
    license = "MIT"
    description = "Header-only C++20 resilience and scaling patterns for service code"
    url = "https://github.com/bulwark-cpp/bulwark"
    homepage = "https://github.com/bulwark-cpp/bulwark"
    topics = (
        "header-only",
        "resilience",
        "rate-limiting",
        "circuit-breaker",
        "retry",
        "bulkhead",
        "consistent-hashing",
        "sharding",
        "load-balancing",
        "cache",
    )
    package_type = "header-library"
    # Settings stay so that validate() can check the C++ standard; package_id() drops them, so
    # one package serves every configuration.
    settings = "os", "arch", "compiler", "build_type"
    # The optional add-ons, each a CMake target of its own over the same headers:
    #   with_redis       bulwark::redis       hiredis
    #   with_asio        bulwark::asio        standalone asio (C++20 coroutines)
    #   with_config      bulwark::config      nlohmann_json
    #   with_prometheus  bulwark::prometheus  prometheus-cpp (its core library)
    options = {
        "with_redis": [True, False],
        "with_asio": [True, False],
        "with_config": [True, False],
        "with_prometheus": [True, False],
    }
    default_options = {
        "with_redis": False,
        "with_asio": False,
        "with_config": False,
        "with_prometheus": False,
    }

    # option -> (component, its dependency's reference, the dependency's CMakeDeps target as
    # a Conan component requirement)
    _addons = {
        "with_redis": ("redis", "hiredis/1.2.0", "hiredis::hiredis"),
        "with_asio": ("asio", "asio/1.28.1", "asio::asio"),
        "with_config": ("config", "nlohmann_json/3.11.3", "nlohmann_json::nlohmann_json"),
        "with_prometheus": ("prometheus", "prometheus-cpp/1.1.0",
                            "prometheus-cpp::prometheus-cpp-core"),
    }
    exports_sources = "include/*", "cmake/*", "CMakeLists.txt", "LICENSE"
    no_copy_source = True

    _version_macro = re.compile(r"^\s*#\s*define\s+BULWARK_VERSION_(MAJOR|MINOR|PATCH)\s+(\d+)\b",
                                re.MULTILINE)

    def set_version(self):
        header = load(self, os.path.join(self.recipe_folder, "include", "bulwark", "version.hpp"))
        parts = dict(self._version_macro.findall(header))
        missing = [p for p in ("MAJOR", "MINOR", "PATCH") if p not in parts]
        if missing:
            raise ConanException("bulwark: version.hpp does not define BULWARK_VERSION_"
                                 + ", BULWARK_VERSION_".join(missing))
        header_version = "{}.{}.{}".format(parts["MAJOR"], parts["MINOR"], parts["PATCH"])
        # A --version on the command line must not produce a package whose headers disagree.
        if self.version and str(self.version) != header_version:
            raise ConanException("bulwark: --version {} disagrees with version.hpp ({})".format(
                self.version, header_version))
        self.version = header_version

    def layout(self):
        basic_layout(self)

    def requirements(self):
        for option, (_, reference, _) in self._addons.items():
            if self.options.get_safe(option):
                self.requires(reference)

    def package_id(self):
        # Header-only: the same package for every os, compiler, standard and build type.
        # (The with_* options change only the requirements and targets, not the packaged headers.)
        self.info.clear()

    def validate(self):
        check_min_cppstd(self, 20)

    def package(self):
        copy(self, "LICENSE", src=self.source_folder,
             dst=os.path.join(self.package_folder, "licenses"))
        copy(self, "*.hpp", src=os.path.join(self.source_folder, "include"),
             dst=os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        # The names the CMake build installs, so find_package(bulwark) and bulwark::bulwark
        # read the same whether the package came from Conan, vcpkg or `cmake --install`.
        self.cpp_info.set_property("cmake_file_name", "bulwark")
        self.cpp_info.set_property("cmake_target_name", "bulwark::bulwark")
        self.cpp_info.set_property("pkg_config_name", "bulwark")
        threads = ["pthread"] if self.settings.os in ("Linux", "FreeBSD") else []
        addons = [(component, requirement)
                  for option, (component, _, requirement) in self._addons.items()
                  if self.options.get_safe(option)]
        if not addons:
            # Threads::Threads in the CMake package; the concurrent components use std::thread.
            self.cpp_info.system_libs = threads
            return
        # With add-ons, one target per component as the CMake package has them: bulwark::bulwark
        # (the core) and bulwark::<add-on> (the core plus its dependency). The aggregate of all
        # is bulwark::bulwark_all, since a component already carries the name bulwark::bulwark.
        self.cpp_info.set_property("cmake_target_name", "bulwark::bulwark_all")
        core = self.cpp_info.components["core"]
        core.set_property("cmake_target_name", "bulwark::bulwark")
        core.bindirs = []
        core.libdirs = []
        core.system_libs = threads
        for component, requirement in addons:
            addon = self.cpp_info.components[component]
            addon.set_property("cmake_target_name", "bulwark::" + component)
            addon.bindirs = []
            addon.libdirs = []
            addon.requires = ["core", requirement]
            if component == "asio" and str(self.settings.compiler) in ("clang", "apple-clang"):
                # As the CMake package does: asio 1.22+ detects C++20 coroutines on clang only
                # when told (docs/async.md).
                addon.defines = ["ASIO_HAS_CO_AWAIT=1"]
