using System.Text;

namespace CdsRisk.Api.Hooks;

/// <summary>Field names as the wire spells them (camelCase JSON paths such as <c>context.patientId</c> or <c>prefetch.patient</c>).</summary>
public static class WirePath
{
    /// <summary>"$.context.patientId" or "$['prefetch']['x']" → "context.patientId" / "prefetch.x"; null for the root.</summary>
    public static string? FromJsonPath(string? jsonPath)
    {
        if (string.IsNullOrEmpty(jsonPath) || jsonPath == "$")
        {
            return null;
        }

        var path = jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath.TrimStart('$');
        path = path.Replace("['", ".", StringComparison.Ordinal).Replace("']", string.Empty, StringComparison.Ordinal).TrimStart('.');
        return path.Length == 0 ? null : path;
    }

    /// <summary>FluentValidation's "Context.PatientId" / "Feedback[0].Card" → "context.patientId" / "feedback[0].card"; names already in wire form are kept.</summary>
    public static string FromPropertyPath(string propertyPath)
    {
        var result = new StringBuilder(propertyPath.Length);
        var startOfSegment = true;
        foreach (var c in propertyPath)
        {
            result.Append(startOfSegment ? char.ToLowerInvariant(c) : c);
            startOfSegment = c is '.' or ']';
        }

        return result.ToString();
    }
}
