namespace CdsRisk.Api.Fhir;

/// <summary>
/// A base-URL prefix on an allow-list (FHIR servers, JWKS locations). Matching compares the parsed scheme, host and port
/// exactly and the path by whole segments, so <c>https://ehr.example/fhir</c> admits <c>https://ehr.example/fhir/Patient/1</c>
/// but not <c>https://ehr.example/fhir-evil</c> nor <c>https://ehr.example.evil.com/fhir</c> (no server-side request forgery by string prefix).
/// </summary>
public sealed class AllowedBaseUrl
{
    private readonly Uri _prefix;
    private readonly string _pathPrefix;

    private AllowedBaseUrl(Uri prefix)
    {
        _prefix = prefix;
        _pathPrefix = prefix.AbsolutePath.EndsWith('/') ? prefix.AbsolutePath : prefix.AbsolutePath + "/";
    }

    public static bool TryCreate(string? value, out AllowedBaseUrl? allowed)
    {
        allowed = null;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || !IsPlainHttp(uri) || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            return false;
        }

        allowed = new AllowedBaseUrl(uri);
        return true;
    }

    public bool Admits(Uri candidate)
    {
        if (!candidate.IsAbsoluteUri || !IsPlainHttp(candidate))
        {
            return false;
        }

        if (!string.Equals(candidate.Scheme, _prefix.Scheme, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(candidate.IdnHost, _prefix.IdnHost, StringComparison.OrdinalIgnoreCase)
            || candidate.Port != _prefix.Port)
        {
            return false;
        }

        var path = candidate.AbsolutePath.EndsWith('/') ? candidate.AbsolutePath : candidate.AbsolutePath + "/";
        return path.StartsWith(_pathPrefix, StringComparison.Ordinal);
    }

    public override string ToString() => _prefix.ToString();

    private static bool IsPlainHttp(Uri uri) =>
        (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && string.IsNullOrEmpty(uri.UserInfo);
}

/// <summary>A list of <see cref="AllowedBaseUrl"/>; admits a URL when any entry does.</summary>
public sealed class AllowedBaseUrls(IEnumerable<AllowedBaseUrl> entries)
{
    private readonly AllowedBaseUrl[] _entries = [.. entries];

    public static AllowedBaseUrls Parse(IEnumerable<string> values) =>
        new(values.Select(v => AllowedBaseUrl.TryCreate(v, out var a) ? a! : throw new ArgumentException($"Not an allowed base URL: '{v}'", nameof(values))));

    public bool IsEmpty => _entries.Length == 0;

    public bool Admits(Uri candidate) => _entries.Any(e => e.Admits(candidate));
}
