import os

from conan import ConanFile
from conan.tools.build import can_run
from conan.tools.cmake import CMake, cmake_layout


class BulwarkTestPackageConan(ConanFile):
    """Builds test_package.cpp (and, with_redis, test_package_redis.cpp) against the package
    `conan create` just made and runs them.

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
        # With the redis add-on the package provides bulwark::redis, and CMakeLists.txt builds
        # test_package_redis against it: a missing program is a failed test, not a skipped one.
        if self.dependencies["bulwark"].options.get_safe("with_redis"):
            self.run(os.path.join(self.cpp.build.bindir, "test_package_redis"), env="conanrun")
