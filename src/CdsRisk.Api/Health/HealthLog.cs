namespace CdsRisk.Api.Health;

internal static partial class HealthLog
{
    [LoggerMessage(1101, LogLevel.Information, "Warm-up done in {ElapsedMs} ms: model {Model}, pipeline {Pipeline}")]
    public static partial void WarmUpFinished(this ILogger logger, long elapsedMs, string model, string pipeline);
}
