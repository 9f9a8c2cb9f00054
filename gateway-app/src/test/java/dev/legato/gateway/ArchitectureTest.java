package dev.legato.gateway;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The house plan, checked on the compiled classes of every module: arrows point one way
 * (gateway → threads and registries → Podium adapter and storage), and no two packages depend on each other.
 */
class ArchitectureTest {
  private static final JavaClasses LEGATO = new ClassFileImporter()
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .importPackages("dev.legato");

  @Test
  void noPackageCycles() {
    slices().matching("dev.legato.(**)").should().beFreeOfCycles().check(LEGATO);
  }

  @Test
  void arrowsPointOneWay() {
    layeredArchitecture().consideringOnlyDependenciesInLayers()
        .layer("gateway").definedBy("dev.legato.gateway..")
        .layer("threads").definedBy("dev.legato.thread..", "dev.legato.registry..")
        .layer("podium").definedBy("dev.legato.podium")
        .layer("storage").definedBy("dev.legato.storage..")
        .whereLayer("gateway").mayNotBeAccessedByAnyLayer()
        .whereLayer("threads").mayOnlyBeAccessedByLayers("gateway")
        .whereLayer("podium").mayOnlyBeAccessedByLayers("gateway", "threads")
        .whereLayer("storage").mayOnlyBeAccessedByLayers("gateway", "threads")
        .check(LEGATO);
  }
}
