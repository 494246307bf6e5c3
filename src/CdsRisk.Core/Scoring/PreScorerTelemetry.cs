using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace CdsRisk.Core.Scoring;

/// <summary>
/// A hospital service makes no connection it was not configured to make. ONNX Runtime (1.29 and later) ships 1DS telemetry on
/// Linux and macOS that resolves and contacts an outside host as soon as its process-wide environment is created (a ProcessInfo
/// event), before <see cref="OrtEnv.DisableTelemetryEvents"/> can be called. The native library reads
/// <c>ORT_DISABLE_TELEMETRY=1</c> when it creates that environment and then starts nothing at all (no uploader, no device id
/// file). .NET's <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach the native environment on Unix,
/// so the variable is set with libc <c>setenv</c>, once, before the first <see cref="OrtEnv"/>; the runtime switch is then
/// turned off too (the only one Windows builds have).
/// </summary>
internal static class PreScorerTelemetry
{
    public const string DisableVariable = "ORT_DISABLE_TELEMETRY";

    private static readonly Lazy<bool> Off = new(SwitchOff, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Switches ONNX Runtime telemetry off for this process; call before the first session is created.</summary>
    public static void EnsureOff() => _ = Off.Value;

    /// <summary>The native environment's value of <see cref="DisableVariable"/> (what ONNX Runtime reads), for tests.</summary>
    internal static string? NativeValue() => OperatingSystem.IsWindows() ? Environment.GetEnvironmentVariable(DisableVariable)
        : Marshal.PtrToStringUTF8(getenv(DisableVariable));

    private static bool SwitchOff()
    {
        if (!OperatingSystem.IsWindows() && setenv(DisableVariable, "1", 1) != 0)
        {
            throw new InvalidOperationException($"could not set {DisableVariable} in the process environment (errno {Marshal.GetLastPInvokeError()})");
        }

        OrtEnv.Instance().DisableTelemetryEvents();
        return true;
    }

#pragma warning disable SYSLIB1054, CA2101 // two libc calls with ASCII strings: the classic marshaller is enough
    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int setenv(string name, string value, int overwrite);

    [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern IntPtr getenv(string name);
#pragma warning restore SYSLIB1054, CA2101
}
