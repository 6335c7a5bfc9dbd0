"""What the phone menu says, in English and Mandarin."""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "menu": "To check the status of a case, press 1. To tell us what your call is about, "
                "press 2, or just say it now. To speak to an operator, press 3.",
        "ask_reference": "Please key the number of your case reference, then press hash.",
        "ask_topic": "Please tell us briefly what your call is about.",
        "not_option": "Sorry, that is not one of the options.",
        "not_heard": "Sorry, I did not catch that.",
        "did_it_help": "Did that answer your question? Say yes or press 1. Say no or press 2.",
        "thanks": "Thank you for calling. Goodbye.",
        "connecting": "Connecting you to {department}. Your case reference is {reference}.",
        "position": "You are number {position} in the queue.",
        "closed": "We are closed now.",
        "too_long": "Sorry, all our agents are still busy.",
        "offer": "To leave a message, press 1. To ask us to call you back, press 2.",
        "record": "Please leave your message after the tone, then hang up or press hash.",
        "not_recorded": "Sorry, we did not get a message.",
        "recorded": "Thank you. We have your message under reference {reference}. "
                    "We will call you back.",
        "callback": "Thank you. We will call you back on this number. "
                    "Your case reference is {reference}.",
        "no_case": "We could not find that case. We will contact you on the number we have.",
        "status": "Case {reference} is {status}, handled by {department}.",
        "hidden": "Sorry, we cannot take calls from a hidden number. Please call again "
                  "showing your number, or write to us.",
        "connected": "You are now connected.",
        "agent_none": "There is no caller waiting for your departments.",
        "whisper": "A caller for {department}, speaking {speaking}, case {reference}.",
    },
    "zh": {
        "menu": "查询案件进度请按1。说明来电事由请按2，或直接说出。人工服务请按3。",
        "ask_reference": "请输入您的案件编号数字，然后按井号键。",
        "ask_topic": "请简要说明您来电的事由。",
        "not_option": "对不起，没有这个选项。",
        "not_heard": "对不起，我没有听清楚。",
        "did_it_help": "这解答了您的问题吗？是请说是或按1，不是请说不或按2。",
        "thanks": "感谢您的来电，再见。",
        "connecting": "正在为您转接{department}。您的案件编号是{reference}。",
        "position": "您前面还有{position}位来电者。",
        "closed": "现在是非办公时间。",
        "too_long": "对不起，坐席仍然繁忙。",
        "offer": "留言请按1，需要回电请按2。",
        "record": "请在提示音后留言，结束后挂机或按井号键。",
        "not_recorded": "对不起，我们没有收到留言。",
        "recorded": "谢谢。您的留言已记录，案件编号{reference}。我们会给您回电。",
        "callback": "谢谢。我们会回电到这个号码。您的案件编号是{reference}。",
        "no_case": "未找到该案件。我们会通过我们登记的号码与您联系。",
        "status": "案件{reference}的状态是{status}，由{department}办理。",
        "hidden": "对不起，我们无法接听隐藏号码的来电。请显示号码后再拨，或给我们写信。",
        "connected": "已为您接通。",
        "agent_none": "您的部门现在没有等待的来电。",
    },
}

LANGUAGE_NAMES = {"en": "English", "zh": "Mandarin"}
YES_WORDS = ("yes", "yeah", "yep", "correct", "it did", "是", "对", "好", "有", "解答了")
NO_WORDS = ("no", "nope", "not", "didn't", "did not", "不", "没有", "否")

STATUS_NAMES = {
    "en": {"new": "being sorted", "dispatched": "with the department",
           "accepted": "accepted", "in_progress": "being worked on",
           "waiting_citizen": "waiting for your reply", "answered": "answered",
           "resolved": "resolved", "closed": "closed"},
    "zh": {"new": "正在分派", "dispatched": "已转交部门", "accepted": "已受理",
           "in_progress": "正在办理", "waiting_citizen": "等待您的回复", "answered": "已答复",
           "resolved": "已办结", "closed": "已关闭"},
}


def say(language: str, key: str, **values: object) -> str:
    return PHRASES.get(language, PHRASES["en"])[key].format(**values)
