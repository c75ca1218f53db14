package dev.jgan.lab;

import dev.jgan.backend.Backend;
import dev.jgan.cuda.Kernels;
import dev.jgan.lab.Variant.Device;
import dev.jgan.lab.Variant.Status;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The registry's structure, read from its sources of truth: the Backend interface, Kernels' names, the lab's own list. */
class KernelLabTest {
    @Test
    void everyBackendCallIsInOneOpOrMovesNoArithmetic() {
        Set<String> seen = new HashSet<>();
        for (Method m : Backend.class.getMethods()) {
            if (Modifier.isStatic(m.getModifiers()) || !seen.add(m.getName())) continue;
            List<LabOp> owners = new ArrayList<>();
            for (LabOp op : LabOp.values()) if (op.calls().contains(m.getName())) owners.add(op);
            boolean plumbing = LabOp.NOT_KERNELS.contains(m.getName());
            assertEquals(plumbing ? 0 : 1, owners.size(), "Backend." + m.getName() + " is in ops " + owners
                    + (plumbing ? " but is listed as moving no arithmetic" : ": every call that computes belongs to exactly one op"));
        }
        for (LabOp op : LabOp.values())
            for (String call : op.calls()) assertTrue(seen.contains(call), op + " names " + call + ", which Backend does not have");
    }

    @Test
    void everyProductionKernelBelongsToOneOp() {
        for (String k : Kernels.NAMES) {
            List<LabOp> owners = new ArrayList<>();
            for (LabOp op : LabOp.values()) if (op.ownsKernel(k)) owners.add(op);
            assertEquals(1, owners.size(), k + " belongs to " + owners);
        }
    }

    @Test
    void everyOpHasOneBaselinePerDeviceAndAProductionChoice() {
        for (LabOp op : LabOp.values())
            for (Device d : Device.values()) {
                List<Variant> baselines = KernelLab.find(op.id() + ":" + KernelLab.BASELINE, d);
                assertEquals(1, baselines.size(), op + " on " + d);
                assertEquals(Status.BASELINE, baselines.getFirst().status());
                Variant p = KernelLab.production(op, d);
                assertTrue(p.status() == Status.BASELINE || p.status() == Status.PROMOTED,
                        op + " on " + d + ": production runs " + p.id() + ", which is " + p.status().id());
            }
    }

    @Test
    void variantIdsAreUniquePerDeviceAndLabVariantsSayWhatTheyTry() {
        Set<String> ids = new HashSet<>();
        for (Variant v : KernelLab.variants()) {
            assertTrue(ids.add(v.device() + " " + v.id()), "two variants " + v);
            if (v.status() == Status.BASELINE) continue;
            assertFalse(v.tries().isBlank(), v + " says nothing of what it tries");
            assertTrue(v.bytesPerElement() > 0, v + " gives no bytes per element");
            if (v.device() == Device.CUDA) {
                assertFalse(v.kernels().isEmpty(), v + " names no kernels");
                for (String k : v.kernels())
                    assertTrue(k.startsWith("lab_" + v.op().id() + "_"), v + ": lab kernel " + k + " must be named lab_" + v.op().id() + "_...");
            }
        }
    }

    /** A CPU variant replaces its own op's calls and nothing else (it extends ForwardingBackend). */
    @Test
    void cpuVariantsOverrideOnlyTheirOpsCalls() {
        Backend probe = new ForwardingBackend(new ForwardingBackend(dev.jgan.testing.TestBackends.cpu()));
        for (Variant v : KernelLab.variants()) {
            if (v.device() != Device.CPU || v.status() == Status.BASELINE) continue;
            Backend installed = v.on(probe);
            assertTrue(installed instanceof ForwardingBackend, v + " is not a ForwardingBackend");
            int overridden = 0;
            for (Class<?> c = installed.getClass(); c != ForwardingBackend.class; c = c.getSuperclass())
                for (Method m : c.getDeclaredMethods()) {
                    if (!Modifier.isPublic(m.getModifiers()) || !isBackendCall(m)) continue;
                    assertTrue(v.op().calls().contains(m.getName()), v + " overrides " + m.getName() + ", not a call of " + v.op());
                    overridden++;
                }
            assertTrue(overridden > 0, v + " overrides none of " + v.op().calls());
        }
    }

    private static boolean isBackendCall(Method m) {
        try {
            Backend.class.getMethod(m.getName(), m.getParameterTypes());
            return true;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    @Test
    void oneVariantPerOpAtATimeAndTheBaselineIsProductionsOwnKernels() {
        Backend cpu = dev.jgan.testing.TestBackends.cpu(), production = KernelLab.withProduction(cpu);
        Variant baseline = KernelLab.find("dropout:baseline", Device.CPU).getFirst();
        assertThrows(IllegalArgumentException.class, () -> KernelLab.install(List.of(baseline, baseline), cpu));
        List<Variant> chosen = new ArrayList<>();
        for (LabOp op : LabOp.values())
            if (!KernelLab.production(op, Device.CPU).name().equals(KernelLab.BASELINE)) chosen.add(KernelLab.production(op, Device.CPU));
        if (chosen.isEmpty()) {
            assertTrue(production == cpu && baseline.on(cpu) == cpu, "every op runs its baseline: nothing is wrapped");
            return;
        }
        for (Variant v : chosen) assertTrue(production.describe().contains(v.id()), production.describe() + " does not name " + v);
        // a variant goes on the production kernels, every other op keeps production's choice, the baseline is the raw kernels
        for (Variant v : chosen) {
            Variant base = KernelLab.find(v.op().id() + ":" + KernelLab.BASELINE, Device.CPU).getFirst();
            List<Class<?>> layers = layers(base.on(production));
            assertFalse(layers.contains(v.on(cpu).getClass()), v.op() + "'s baseline still runs " + v + ": " + layers);
            assertEquals(chosen.size() - 1, layers.size() - 1, "layers over the CPU backend: " + layers);
        }
    }

    /** The classes of a backend's ForwardingBackend layers, outermost first, then the backend underneath. */
    private static List<Class<?>> layers(Backend b) {
        List<Class<?>> out = new ArrayList<>();
        while (b instanceof ForwardingBackend f) {
            out.add(f.getClass());
            b = f.base();
        }
        out.add(b.getClass());
        return out;
    }

    @Test
    void findNamesWhatThereIs() {
        IllegalArgumentException noOp = assertThrows(IllegalArgumentException.class, () -> KernelLab.find("batchnorm", null));
        assertTrue(noOp.getMessage().contains("batch_norm"), noOp.getMessage());
        IllegalArgumentException noVariant = assertThrows(IllegalArgumentException.class, () -> KernelLab.find("dropout:nope", Device.CPU));
        assertTrue(noVariant.getMessage().contains("baseline"), noVariant.getMessage());
    }
}
