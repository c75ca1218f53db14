package dev.jgan.cuda.gpu;

import dev.jgan.backend.DeviceException;
import jcuda.CudaException;
import jcuda.driver.CUresult;
import jcuda.jcublas.cublasStatus;
import jcuda.jcudnn.cudnnStatus;

import java.util.function.IntSupplier;

/**
 * Status checks for the real adapters: every CUDA driver, cuBLAS and cuDNN call goes through one
 * of these, and a failure names the call, its shapes and the library's status. The driver calls
 * may also throw (JCuda's exceptions are on for the launcher); both ways end in the same message.
 */
final class Checked {
    private Checked() {}

    /** A driver API call: CUDA_SUCCESS (0) or an exception naming {@code call}. */
    static void driver(String call, IntSupplier f) {
        int rc;
        try {
            rc = f.getAsInt();
        } catch (CudaException e) {
            throw new DeviceException(call + " failed: " + e.getMessage(), e);
        }
        if (rc != CUresult.CUDA_SUCCESS) throw new DeviceException(call + " failed: " + CUresult.stringFor(rc));
    }

    /** A cuBLAS call: CUBLAS_STATUS_SUCCESS (0) or an exception naming {@code call}. */
    static void cublas(String call, IntSupplier f) {
        int rc = f.getAsInt();
        if (rc != cublasStatus.CUBLAS_STATUS_SUCCESS) throw new DeviceException(call + " failed: " + cublasStatus.stringFor(rc));
    }

    /** A cuDNN call: CUDNN_STATUS_SUCCESS (0) or an exception naming {@code call}. */
    static void cudnn(String call, IntSupplier f) {
        int rc = f.getAsInt();
        if (rc != cudnnStatus.CUDNN_STATUS_SUCCESS) throw new DeviceException(call + " failed: " + cudnnStatus.stringFor(rc));
    }
}
