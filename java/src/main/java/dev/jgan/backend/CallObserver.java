package dev.jgan.backend;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.function.BiConsumer;

/**
 * A backend that does what {@code inner} does and shows each call to an observer first, by name
 * and arguments: how the presets' op cases are found ({@code PresetOps}) and a step's FLOPs counted
 * ({@code StepFlops}) from the calls a training step really makes. Default methods run on the
 * wrapper, so the calls they make (fromHost's allocate and copyFromHost) are observed too.
 */
public final class CallObserver {
    private CallObserver() {}

    public static Backend wrap(Backend inner, BiConsumer<String, Object[]> onCall) {
        InvocationHandler h = (proxy, m, args) -> {
            if (m.isDefault()) return InvocationHandler.invokeDefault(proxy, m, args);
            onCall.accept(m.getName(), args);
            try {
                return m.invoke(inner, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, h);
    }
}
