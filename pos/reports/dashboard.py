def dashboard_callback(request, context):
    """Numbers and charts for the admin index page (django-unfold DASHBOARD_CALLBACK)."""
    return context
