package dev.legato.gateway;

import static com.tngtech.archunit.core.domain.JavaCall.Predicates.target;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.type;
import static com.tngtech.archunit.core.domain.properties.HasName.Predicates.nameMatching;
import static com.tngtech.archunit.core.domain.properties.HasOwner.Predicates.With.owner;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.legato.storage.SessionStorage;
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

  /**
   * One writer per thread (invariant 1) on a node as across nodes: only a thread's own entity opens, reads, closes,
   * restores or deletes its files through the storage. Anything else asks the entity (a fork reads its
   * source through it), or reads the local files read-only (the start-up sweep: a sweep that opened a thread living
   * elsewhere through the writer restored a stale copy here, and a rolling restart lost a turn).
   */
  @Test
  void onlyAThreadsEntityUsesItsFiles() {
    noClasses().that().resideOutsideOfPackage("dev.legato.thread..")
        .should().callMethodWhere(target(owner(type(SessionStorage.class)))
            .and(target(nameMatching("readThread|prepareThread|closeThread|deleteThread|restoreThread"))))
        .check(LEGATO);
  }
}
