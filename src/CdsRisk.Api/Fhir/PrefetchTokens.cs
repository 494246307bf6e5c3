using CdsRisk.Api.Pipeline;

namespace CdsRisk.Api.Fhir;

/// <summary>CDS Hooks 2.0 §Prefetch tokens: fills <c>{{context.x}}</c> and <c>{{userPractitionerId}}</c>-style tokens of a template.</summary>
public static class PrefetchTokens
{
    /// <summary>The query with every token replaced (values URL-escaped), or null when a token has no value in this call (the key is then not needed).</summary>
    public static string? Resolve(string template, HookInvocation invocation)
    {
        var result = new System.Text.StringBuilder(template.Length + 32);
        var position = 0;
        while (position < template.Length)
        {
            var start = template.IndexOf("{{", position, StringComparison.Ordinal);
            if (start < 0)
            {
                result.Append(template, position, template.Length - position);
                break;
            }

            var end = template.IndexOf("}}", start + 2, StringComparison.Ordinal);
            if (end < 0)
            {
                return null;
            }

            result.Append(template, position, start - position);
            var value = ValueOf(template[(start + 2)..end].Trim(), invocation);
            if (string.IsNullOrEmpty(value))
            {
                return null;
            }

            result.AppendJoin('/', value.Split('/').Select(Uri.EscapeDataString));
            position = end + 2;
        }

        return result.ToString();
    }

    private static string? ValueOf(string token, HookInvocation invocation) => token switch
    {
        "context.patientId" => invocation.PatientId,
        "context.encounterId" => invocation.EncounterId,
        "context.userId" => invocation.UserId,
        "userPractitionerId" => UserOfType(invocation, "Practitioner"),
        "userPractitionerRoleId" => UserOfType(invocation, "PractitionerRole"),
        "userPatientId" => UserOfType(invocation, "Patient"),
        "userRelatedPersonId" => UserOfType(invocation, "RelatedPerson"),
        _ => null,
    };

    // The user tokens carry the bare id; context.userId arrives as "Practitioner/123" (cds-hooks/docs #520).
    private static string? UserOfType(HookInvocation invocation, string type) =>
        string.Equals(invocation.UserType, type, StringComparison.Ordinal) ? invocation.UserLogicalId : null;
}
