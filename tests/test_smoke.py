def test_manager_sees_dashboard(manager):
    response = manager.get("/dashboard")
    assert response.status_code == 200
    assert "Mo Manager" in response.text
