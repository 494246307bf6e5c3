namespace CdsRisk.Core.Imaging;

/// <summary>The four MRI phases the trial requires, in the model's channel order.</summary>
public enum Phase
{
    NonContrast = 0,
    Arterial = 1,
    PortalVenous = 2,
    Delayed = 3,
}
