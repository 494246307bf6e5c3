using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace CdsRisk.Cli.Demo;

/// <summary>
/// The SMART app in the demo (issue 18): the service is configured with the test FHIR server as the EHR that launches it, the app is
/// registered at that server's SMART double, and for each patient the demo asks the double for a launch, printing the launch URL a
/// person can open in a browser (the double approves its test user at once). Launches last <see cref="LaunchHours"/> hours.
/// </summary>
public sealed class DemoAppLinks(Uri serviceBase, string fhirBase, string? adminUrl, string? adminToken) : IDisposable
{
    public const string ClientId = "cdsrisk-demo-app";
    public const string TrialTeamRole = "trial-team";
    public const int LaunchHours = 12;

    private readonly string _secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private bool _registered;

    /// <summary>Service settings that make the test FHIR server an EHR allowed to launch the app.</summary>
    public IReadOnlyDictionary<string, string> ServiceEnvironment => new Dictionary<string, string>
    {
        ["SmartApp__Ehrs__0__Issuer"] = fhirBase,
        ["SmartApp__Ehrs__0__ClientId"] = ClientId,
        ["SmartApp__Ehrs__0__ClientSecret"] = _secret,
        ["SmartApp__Ehrs__0__TrialTeamRoles__0"] = TrialTeamRole,

        // The cards' "smart" link (CDS Hooks 2.0 §Link: the EHR launches it with iss and launch), so the demo's cards carry it.
        ["Pipeline__SmartAppUrl"] = Base + "/app/launch",
    };

    private string Base => serviceBase.ToString().TrimEnd('/');

    /// <summary>Registers the app at the SMART double and makes its standalone user a trial-team member; the problem, or null.</summary>
    public async Task<string?> RegisterAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(adminUrl) || string.IsNullOrEmpty(adminToken)) return "the test environment names no FHIR admin URL";
        var problem = await AdminAsync("clients", new JsonObject { ["client_id"] = ClientId, ["client_secret"] = _secret, ["redirect_uris"] = new JsonArray(Base + "/app/callback") }, cancellationToken)
            ?? await AdminAsync("user", new JsonObject { ["fhirUser"] = "Practitioner/demo-trial-coordinator", ["roles"] = new JsonArray(TrialTeamRole) }, cancellationToken);
        _registered = problem is null;
        return problem is null ? null : "the SMART app could not be registered: " + problem;
    }

    /// <summary>The URL that launches the app for <paramref name="patientId"/>, opening the assessment of hook call <paramref name="hookInstance"/>; null when none could be made.</summary>
    public async Task<string?> LaunchUrlAsync(string patientId, string? hookInstance, CancellationToken cancellationToken)
    {
        if (!_registered) return null;
        var body = new JsonObject
        {
            ["patient"] = patientId,
            ["user"] = new JsonObject { ["fhirUser"] = "Practitioner/demo-clinician", ["roles"] = new JsonArray() },
            ["launchSeconds"] = LaunchHours * 3600,
        };
        if (hookInstance is not null) body["appContext"] = new JsonObject { ["assessment"] = hookInstance }.ToJsonString();
        var answer = new JsonObject();
        if (await AdminAsync("launch", body, cancellationToken, answer) is not null || (string?)answer["launch"] is not { } launch) return null;
        return $"{Base}/app/launch?iss={Uri.EscapeDataString(fhirBase)}&launch={Uri.EscapeDataString(launch)}";
    }

    /// <summary>The standalone launch (the trial team's screening log).</summary>
    public string? StandaloneUrl => _registered ? $"{Base}/app/login?iss={Uri.EscapeDataString(fhirBase)}" : null;

    private async Task<string?> AdminAsync(string verb, JsonObject body, CancellationToken cancellationToken, JsonObject? answer = null)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, adminUrl!.TrimEnd('/') + "/smart/" + verb)
            {
                Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            using var response = await _http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode) return $"{verb}: HTTP {(int)response.StatusCode}";
            if (answer is not null && JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) is JsonObject o)
            {
                foreach (var (k, v) in o) answer[k] = v?.DeepClone();
            }

            return null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            return $"{verb}: {e.GetType().Name}";
        }
    }

    public void Dispose() => _http.Dispose();
}
