namespace CdsRisk.Core;

/// <summary>The CDS Hooks 2.0 hooks this service answers (hook names as the spec defines them), defined once.</summary>
public static class HookNames
{
    public const string PatientView = "patient-view";
    public const string OrderSelect = "order-select";
    public const string OrderSign = "order-sign";
}
