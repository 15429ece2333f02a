import os

from conan import ConanFile
from conan.tools.build import can_run
from conan.tools.cmake import CMake, cmake_layout


class BulwarkTestPackageConan(ConanFile):
    """Builds test_package.cpp against the package `conan create` just made and runs it.

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
        if can_run(self):
            binary = os.path.join(self.cpp.build.bindir, "test_package")
            self.run(binary, env="conanrun")
