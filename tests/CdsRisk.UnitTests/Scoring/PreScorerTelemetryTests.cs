using CdsRisk.Core.Scoring;

namespace CdsRisk.UnitTests.Scoring;

/// <summary>
/// Issue 13 item 21: ONNX Runtime's telemetry is off before its environment exists. The process-level check (no socket outside
/// loopback, no DNS query, with the service under strace) is NoEgressTests in the integration tests.
/// </summary>
public sealed class PreScorerTelemetryTests
{
    [Fact]
    public void OnnxRuntimeTelemetry_IsSwitchedOffInTheNativeEnvironment_WhenTheModelLoads()
    {
        using var scorer = new PreScorer(new PreModelOptions());

        // What the native library reads (getenv), not .NET's managed copy of the environment.
        Assert.Equal("1", PreScorerTelemetry.NativeValue());
    }
}
