using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Fhir;

/// <summary>Configuration section <c>Fhir</c>: which FHIR servers the service may call back, and how patiently.</summary>
public sealed class FhirOptions
{
    public const string Section = "Fhir";

    /// <summary>Base-URL prefixes (scheme, host, port and path prefix) of the FHIR servers the service may fetch from. Empty: fetch from none.</summary>
    public List<string> AllowedServers { get; set; } = [];

    /// <summary>Whole budget for one FHIR GET, retries included.</summary>
    public double TimeoutSeconds { get; set; } = 8;

    /// <summary>Most pages followed through Bundle <c>next</c> links per prefetch key.</summary>
    public int MaxPages { get; set; } = 20;

    /// <summary>Largest FHIR response body accepted.</summary>
    public long MaxResponseBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>
    /// Most resources one prefetch key may hold, given or fetched (all pages together). A larger prefetch value is refused with
    /// CDSR-1012 before it is read into FHIR objects; a larger fetch is cut off and the category reported as unavailable.
    /// The default is far above a real record for one search (the templates ask for 200 per page).
    /// </summary>
    public int MaxPrefetchEntriesPerKey { get; set; } = 5000;

    /// <summary>Most resources one hook call may load in all, prefetch and fetches together.</summary>
    public int MaxEntriesTotal { get; set; } = 20000;

    /// <summary>Budget for loading one hook's data (all keys, all pages); what is not loaded by then is reported as unavailable.</summary>
    public double LoadTimeoutSeconds { get; set; } = 20;
}

internal sealed class FhirOptionsValidator : IValidateOptions<FhirOptions>
{
    public ValidateOptionsResult Validate(string? name, FhirOptions options)
    {
        var failures = new List<string>();
        for (var i = 0; i < options.AllowedServers.Count; i++)
        {
            if (!AllowedBaseUrl.TryCreate(options.AllowedServers[i], out _))
            {
                failures.Add($"Fhir:AllowedServers:{i} must be an absolute http(s) base URL without user info, query or fragment (got '{options.AllowedServers[i]}').");
            }
        }

        if (options.TimeoutSeconds is < 0.5 or > 120)
        {
            failures.Add("Fhir:TimeoutSeconds must be between 0.5 and 120.");
        }

        if (options.MaxPages is < 1 or > 1000)
        {
            failures.Add("Fhir:MaxPages must be between 1 and 1000.");
        }

        if (options.MaxResponseBytes is < 1024)
        {
            failures.Add("Fhir:MaxResponseBytes must be at least 1024.");
        }

        if (options.MaxPrefetchEntriesPerKey is < 1 or > 1_000_000)
        {
            failures.Add("Fhir:MaxPrefetchEntriesPerKey must be between 1 and 1000000.");
        }

        if (options.MaxEntriesTotal < options.MaxPrefetchEntriesPerKey || options.MaxEntriesTotal > 10_000_000)
        {
            failures.Add("Fhir:MaxEntriesTotal must be at least Fhir:MaxPrefetchEntriesPerKey and at most 10000000.");
        }

        if (options.LoadTimeoutSeconds is < 0.5 or > 600)
        {
            failures.Add("Fhir:LoadTimeoutSeconds must be between 0.5 and 600.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
