package dev.jgan.architecture;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import dev.jgan.lab.KernelLab;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The architecture of DESIGN.md as rules over the main classes (tests may reach anywhere): data
 * flows data -> gan -> nn -> backend -> cpu | cuda, only the selector knows both backends, and
 * only the GPU adapters touch the NVIDIA bindings.
 */
class ArchitectureTest {
    private static JavaClasses main;

    @BeforeAll
    static void importMain() {
        main = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.jgan");
    }

    /**
     * Every package (and sub-package, e.g. cuda.gpu apart from cuda) is a slice; none may reach back.
     * One exception: the kernel lab's registry (KernelLab) lists the variants of its sub-packages
     * (lab.cpu, lab.cuda), which build on the lab's own types (ForwardingBackend, CudaRoute).
     */
    @Test
    void noPackageCycles() {
        check(slices().matching("dev.jgan.(**)").should().beFreeOfCycles()
                .ignoreDependency(JavaClass.Predicates.equivalentTo(KernelLab.class), JavaClass.Predicates.resideInAPackage("dev.jgan.lab.*")));
    }

    @Test
    void layersAndModelsNeverSeeABackendImplementation() {
        check(noClasses().that().resideInAnyPackage("dev.jgan.nn..", "dev.jgan.optim..", "dev.jgan.gan..",
                        "dev.jgan.eval..", "dev.jgan.data..", "dev.jgan.io..", "dev.jgan.tensor..", "dev.jgan.backend..",
                        "dev.jgan.random..", "dev.jgan.cli..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.jgan.cpu..", "dev.jgan.cuda.."));
    }

    @Test
    void onlyTheSelectorKnowsBothBackends() {
        check(noClasses().that().resideInAPackage("dev.jgan.cpu..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.jgan.cuda..", "dev.jgan.selection.."));
        check(noClasses().that().resideInAPackage("dev.jgan.cuda..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.jgan.cpu..", "dev.jgan.selection.."));
    }

    /** CudaBackend sees only its ports: the adapters are built by the factories of their sub-packages. */
    @Test
    void theCudaOrchestrationSeesOnlyItsPorts() {
        check(noClasses().that().resideInAPackage("dev.jgan.cuda")
                .should().dependOnClassesThat().resideInAnyPackage("dev.jgan.cuda.gpu..", "dev.jgan.cuda.emulated..", "dev.jgan.cuda.ffm.."));
        check(noClasses().that().resideInAPackage("dev.jgan.cuda.emulated..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.jgan.cuda.gpu..", "dev.jgan.cuda.ffm.."));
        // the FFM path is whole without the JNI one: no JNI adapter (and, below, no JCuda class)
        check(noClasses().that().resideInAPackage("dev.jgan.cuda.ffm..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.jgan.cuda.gpu..", "dev.jgan.cuda.emulated.."));
    }

    @Test
    void nvidiaBindingsOnlyInTheGpuAdapters() {
        check(noClasses().that().resideOutsideOfPackage("dev.jgan.cuda.gpu..")
                .should().dependOnClassesThat().resideInAPackage("jcuda.."));
    }

    /** ONNX Runtime (gan eval --features) in one class: the rest of jgan, and the CUDA bundle that leaves it out, never load it. */
    @Test
    void onnxRuntimeOnlyInTheFeatureNetwork() {
        check(noClasses().that().doNotHaveFullyQualifiedName("dev.jgan.eval.OnnxFeatures").should().dependOnClassesThat().resideInAPackage("ai.onnxruntime.."));
    }

    @Test
    void nothingImportsTheCli() {
        check(noClasses().that().resideOutsideOfPackage("dev.jgan.cli..")
                .should().dependOnClassesThat().resideInAPackage("dev.jgan.cli.."));
    }

    private static void check(ArchRule rule) { rule.check(main); }
}
