import os

from conan import ConanFile
from conan.tools.build import can_run
from conan.tools.cmake import CMake, cmake_layout


class BulwarkTestPackageConan(ConanFile):
    """Builds test_package.cpp (and, for each with_<add-on> option, test_package_<add-on>.cpp)
    against the package `conan create` just made and runs them.

    The same CMakeLists.txt and program are built by ctest (consumer.find_package) against a
    `cmake --install` prefix, so the two ways of packaging are checked by one consumer.
    """

    settings = "os", "arch", "compiler", "build_type"
    generators = "CMakeDeps", "CMakeToolchain"
    test_type = "explicit"

    def requirements(self):
        self.requires(self.tested_reference_str)

    def layout(self):
        cmake_layout(self)

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def test(self):
        if not can_run(self):
            return
        self.run(os.path.join(self.cpp.build.bindir, "test_package"), env="conanrun")
        # With an add-on the package provides bulwark::<add-on>, and CMakeLists.txt builds
        # test_package_<add-on> against it: a missing program is a failed test, not a skipped one.
        options = self.dependencies["bulwark"].options
        for addon in ("redis", "asio", "config", "prometheus"):
            if options.get_safe("with_" + addon):
                self.run(os.path.join(self.cpp.build.bindir, "test_package_" + addon),
                         env="conanrun")
