namespace CdsRisk.Api.Fhir;

/// <summary>Builds Firely's model tables at start-up, so that the first hook call does not pay seconds for them (CDS Hooks asks for answers in about 500 ms).</summary>
internal sealed class FhirModelWarmup : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = FhirJson.TryParse("""{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"warm-up"}}]}"""u8, out _, out _);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
